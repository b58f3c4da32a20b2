import { randomBytes } from 'node:crypto';

/** `<8 lowercase hex prefix>.<43 url-safe chars>`: the prefix finds the row, the rest is the secret. */
export const API_KEY_PATTERN = /^([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$/;

export function generateApiKey(): { prefix: string; key: string } {
  const prefix = randomBytes(4).toString('hex');
  return { prefix, key: `${prefix}.${randomBytes(32).toString('base64url')}` };
}

export function prefixOf(key: string): string | null {
  return API_KEY_PATTERN.exec(key)?.[1] ?? null;
}
