import type { KeyScope } from '../../../core/tenancy/tenant-scope';
import type { ApiKey } from '../api-key.entity';

export interface ApiKeyResponse {
  prefix: string;
  project_id: number;
  name: string | null;
  scopes: KeyScope[];
  created_at: string;
  revoked_at: string | null;
}

export interface CreatedApiKeyResponse extends ApiKeyResponse {
  /** The whole key; shown only in the creation response. */
  api_key: string;
}

export function toApiKeyResponse(row: ApiKey): ApiKeyResponse {
  return {
    prefix: row.prefix,
    project_id: Number(row.projectId),
    name: row.name,
    scopes: row.scopes,
    created_at: row.createdAt.toISOString(),
    revoked_at: row.revokedAt ? row.revokedAt.toISOString() : null,
  };
}
