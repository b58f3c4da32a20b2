import { SetMetadata } from '@nestjs/common';
import type { KeyScope } from '../tenancy/tenant-scope';

export type Access = { kind: 'public' } | { kind: 'admin' } | { kind: 'key'; scope?: KeyScope };

export const ACCESS_KEY = 'watchpost:access';

/** No authentication (health, docs). */
export const Public = () => SetMetadata(ACCESS_KEY, { kind: 'public' } satisfies Access);

/** `X-Admin-Token` required. */
export const AdminOnly = () => SetMetadata(ACCESS_KEY, { kind: 'admin' } satisfies Access);

/**
 * A project API key with this scope. Without the decorator a route needs a key with `read`
 * for GET and `write` for every other method.
 */
export const RequireScope = (scope: KeyScope) => SetMetadata(ACCESS_KEY, { kind: 'key', scope } satisfies Access);
