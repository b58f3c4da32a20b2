import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerRequest } from '@nestjs/throttler';
import type { Response } from 'express';
import { Access, ACCESS_KEY } from '../auth/access.decorators';
import type { AuthenticatedRequest } from '../auth/auth.guard';

/** Which family of limits a route counts against; throttler names start with it. */
export type RateLimitFamily = 'telemetry' | 'project' | 'admin';

export const THROTTLERS = {
  telemetryPerMinute: 'telemetry_minute',
  telemetryPerHour: 'telemetry_hour',
  projectPerMinute: 'project_minute',
  adminPerMinute: 'admin_minute',
} as const;

/**
 * @nestjs/throttler with the platform's rules: a route counts only against its family's
 * limits (ingestion, other project routes, admin), a limit of 0 means unlimited, the counter
 * is keyed by the verified key or else the client IP and shared across routes, and a 429
 * carries a plain `Retry-After`. Runs after AuthGuard, which has verified the key.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    if (props.limit <= 0) return true;
    const family = this.familyOf(props.context);
    if (!family || !props.throttler.name!.startsWith(family)) return true;
    return super.handleRequest(props);
  }

  private familyOf(ctx: ExecutionContext): RateLimitFamily | null {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (!access) return 'project';
    if (access.kind === 'public') return null;
    if (access.kind === 'admin') return 'admin';
    return access.scope === 'ingest' ? 'telemetry' : 'project';
  }

  protected override async getTracker(req: AuthenticatedRequest): Promise<string> {
    return req.apiKey ? `key:${req.apiKey.prefix}` : `ip:${req.ip}`;
  }

  protected override generateKey(_ctx: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }

  protected override setResponseHeader(res: Response, name: string, value: string | number): void {
    if (name.startsWith('Retry-After')) res.setHeader('Retry-After', String(value));
    else res.setHeader(name, String(value));
  }
}
