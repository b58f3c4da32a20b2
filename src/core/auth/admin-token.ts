import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Checks a presented admin token. Comparing fixed-length digests keeps the comparison
 * constant-time whatever the input length.
 */
export function adminTokenMatcher(adminToken: string): (presented: string | undefined) => boolean {
  const expected = digest(adminToken);
  return (presented) => !!presented && timingSafeEqual(digest(presented), expected);
}
