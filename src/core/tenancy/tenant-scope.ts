import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { NotFoundError } from '../errors/app-error';
import { addToLogContext } from '../logging/log-context';

export type KeyScope = 'ingest' | 'read' | 'write';
export const KEY_SCOPES: readonly KeyScope[] = ['ingest', 'read', 'write'];

/**
 * The tenant a request or job acts for. Tenant-owned repository methods take it as their
 * first argument and filter by it, so no query can reach another project's rows.
 */
export interface TenantScope {
  readonly orgId: number;
  readonly projectId: number;
}

/** What API-key verification yields: the key's project and what it may do. */
export interface VerifiedKey {
  readonly keyId: number;
  readonly prefix: string;
  readonly orgId: number;
  readonly projectId: number;
  readonly scopes: readonly KeyScope[];
}

type ScopedRequest = Request & { tenant?: TenantScope };

/** The one place a verified key becomes a scope for the request. */
export function bindTenant(req: Request, key: VerifiedKey): TenantScope {
  const scope: TenantScope = Object.freeze({ orgId: key.orgId, projectId: key.projectId });
  (req as ScopedRequest).tenant = scope;
  addToLogContext({ project_id: scope.projectId });
  const pathProject = req.params?.projectId;
  // Another project's id is indistinguishable from a missing one.
  if (pathProject !== undefined && String(scope.projectId) !== pathProject) {
    throw new NotFoundError('PROJECT.NOT_FOUND', 'project not found');
  }
  return scope;
}

export function tenantOf(req: Request): TenantScope {
  const scope = (req as ScopedRequest).tenant;
  if (!scope) throw new Error('route reads the tenant scope but is not authenticated with an API key');
  return scope;
}

/** Controller parameter: the scope of the verified API key. */
export const Tenant = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  tenantOf(ctx.switchToHttp().getRequest<Request>()),
);
