import type { VerifiedKey } from '../tenancy/tenant-scope';

export const API_KEY_VERIFIER = Symbol('API_KEY_VERIFIER');

/** Implemented by the api-keys module; the guard only needs this much of it. */
export interface ApiKeyVerifier {
  /** The key's identity, or null when it is malformed, unknown, wrong or revoked. */
  verify(rawKey: string): Promise<VerifiedKey | null>;
}
