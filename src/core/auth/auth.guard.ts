import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { ForbiddenError, UnauthorizedError } from '../errors/app-error';
import { bindTenant, KeyScope, VerifiedKey } from '../tenancy/tenant-scope';
import { Access, ACCESS_KEY } from './access.decorators';
import { adminTokenMatcher } from './admin-token';
import { API_KEY_VERIFIER, ApiKeyVerifier } from './api-key-verifier';

export type AuthenticatedRequest = Request & { apiKey?: VerifiedKey; isAdmin?: boolean };

/** Reads the API key from `X-API-Key` or `Authorization: Bearer`. */
export function presentedKey(req: Request): string | undefined {
  const header = req.header('x-api-key');
  if (header) return header.trim();
  const auth = req.header('authorization');
  const match = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  return match?.[1];
}

/** Every route passes here first: public, admin token, or a project API key with a scope. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly isAdminToken: (presented: string | undefined) => boolean;

  constructor(
    private readonly reflector: Reflector,
    @Inject(API_KEY_VERIFIER) private readonly verifier: ApiKeyVerifier,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.isAdminToken = adminTokenMatcher(config.adminToken);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const access =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [ctx.getHandler(), ctx.getClass()]) ??
      ({ kind: 'key' } as Access);

    if (access.kind === 'public') return true;
    if (access.kind === 'admin') {
      if (!this.isAdminToken(req.header('x-admin-token'))) {
        throw new UnauthorizedError('AUTH.ADMIN_TOKEN_INVALID', 'missing or invalid X-Admin-Token');
      }
      req.isAdmin = true;
      return true;
    }

    const raw = presentedKey(req);
    if (!raw) throw new UnauthorizedError('AUTH.API_KEY_MISSING', 'missing API key (X-API-Key or Authorization: Bearer)');
    const key = await this.verifier.verify(raw);
    if (!key) throw new ForbiddenError('AUTH.API_KEY_INVALID', 'invalid or revoked API key');
    const needed: KeyScope = access.scope ?? (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write');
    if (!key.scopes.includes(needed)) {
      throw new ForbiddenError('AUTH.SCOPE_MISSING', `this API key lacks the "${needed}" scope`);
    }
    req.apiKey = key;
    bindTenant(req, key);
    return true;
  }
}
