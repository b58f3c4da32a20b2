import type { KeyScope, VerifiedKey } from '../../../core/tenancy/tenant-scope';

/** What the console learns about the key it signs in with: its project and what it may do. */
export interface ConsoleSessionResponse {
  project_id: number;
  prefix: string;
  scopes: KeyScope[];
}

export function toConsoleSession(key: VerifiedKey): ConsoleSessionResponse {
  return { project_id: key.projectId, prefix: key.prefix, scopes: [...key.scopes] };
}
