import type { VerifiedKey } from '../../core/tenancy/tenant-scope';
import { VerifiedKeyCache } from './verified-key-cache';

const POSITIVE_TTL = 30_000;
const NEGATIVE_TTL = 5_000;

const keyOf = (prefix: string, keyId = 1): VerifiedKey => ({ keyId, prefix, orgId: 7, projectId: 9, scopes: ['read', 'write'] });

describe('VerifiedKeyCache', () => {
  let now: number;
  const clock = () => now;
  const cacheWith = (maxEntries = 10_000, positive = POSITIVE_TTL, negative = NEGATIVE_TTL) =>
    new VerifiedKeyCache(positive, negative, maxEntries, clock);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('knows nothing about a key it has not seen', () => {
    expect(cacheWith().get('h1')).toBeUndefined();
  });

  it('remembers a verified key until its TTL has passed', () => {
    const cache = cacheWith();
    const key = keyOf('aaaaaaaa');
    cache.set('h1', 'aaaaaaaa', key, now);
    now += POSITIVE_TTL - 1;
    expect(cache.get('h1')).toBe(key);
    now += 1;
    expect(cache.get('h1')).toBeUndefined();
  });

  it('remembers a failed verification as null, for the shorter negative TTL', () => {
    const cache = cacheWith();
    cache.set('bad', 'aaaaaaaa', null, now);
    expect(cache.get('bad')).toBeNull();
    now += NEGATIVE_TTL - 1;
    expect(cache.get('bad')).toBeNull();
    now += 1;
    expect(cache.get('bad')).toBeUndefined();
  });

  it('remembers the stored hash a key was proven against past its TTL, until its prefix is dropped', () => {
    const cache = cacheWith();
    cache.set('h1', 'aaaaaaaa', keyOf('aaaaaaaa'), now, '$2b$10$stored');
    cache.set('bad', 'aaaaaaaa', null, now, '$2b$10$stored');
    now += POSITIVE_TTL + 1;
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.provenHash('h1')).toBe('$2b$10$stored');
    expect(cache.provenHash('bad')).toBeUndefined();
    cache.dropPrefix('aaaaaaaa');
    expect(cache.provenHash('h1')).toBeUndefined();
  });

  it('keeps nothing when a TTL is zero', () => {
    const cache = cacheWith(10_000, 0, 0);
    cache.set('h1', 'aaaaaaaa', keyOf('aaaaaaaa'), now);
    cache.set('h2', 'bbbbbbbb', null, now);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toBeUndefined();
  });

  describe('getStale (only while the database cannot be asked)', () => {
    it('gives a verified key past its TTL up to the age asked for, never a failed one', () => {
      const cache = cacheWith();
      const key = keyOf('aaaaaaaa');
      cache.set('h1', 'aaaaaaaa', key, now);
      cache.set('bad', 'aaaaaaaa', null, now);
      now += POSITIVE_TTL + 1;
      expect(cache.get('h1')).toBeUndefined();
      expect(cache.getStale('h1', 60_000)).toBe(key);
      expect(cache.getStale('bad', 60_000)).toBeUndefined();
      now += 60_000;
      expect(cache.getStale('h1', 60_000)).toBeUndefined();
    });

    it('gives nothing once the key was revoked', () => {
      const cache = cacheWith();
      cache.set('h1', 'aaaaaaaa', keyOf('aaaaaaaa'), now);
      now += POSITIVE_TTL + 1;
      cache.dropPrefix('aaaaaaaa');
      expect(cache.getStale('h1', 60_000)).toBeUndefined();
    });
  });

  describe('dropPrefix', () => {
    it('evicts every entry of the prefix and no other', () => {
      const cache = cacheWith();
      const other = keyOf('bbbbbbbb', 2);
      cache.set('right', 'aaaaaaaa', keyOf('aaaaaaaa'), now);
      cache.set('wrong-secret', 'aaaaaaaa', null, now);
      cache.set('other', 'bbbbbbbb', other, now);
      now += 1;

      cache.dropPrefix('aaaaaaaa');

      expect(cache.get('right')).toBeUndefined();
      expect(cache.get('wrong-secret')).toBeUndefined();
      expect(cache.get('other')).toBe(other);
    });

    it('stops a verification that was in flight at the drop from caching its stale answer', () => {
      const cache = cacheWith();
      const startedAt = now;
      now += 10;
      cache.dropPrefix('aaaaaaaa');
      now += 10;
      cache.set('right', 'aaaaaaaa', keyOf('aaaaaaaa'), startedAt);
      expect(cache.get('right')).toBeUndefined();
    });

    it('treats a verification that started in the same millisecond as the drop as stale', () => {
      const cache = cacheWith();
      cache.dropPrefix('aaaaaaaa');
      cache.set('right', 'aaaaaaaa', keyOf('aaaaaaaa'), now);
      expect(cache.get('right')).toBeUndefined();
    });

    it('lets a verification that started after the drop be cached', () => {
      const cache = cacheWith();
      cache.dropPrefix('aaaaaaaa');
      now += 1;
      cache.set('after', 'aaaaaaaa', null, now);
      expect(cache.get('after')).toBeNull();
    });

    it('does not hold back other prefixes', () => {
      const cache = cacheWith();
      const startedAt = now;
      now += 10;
      cache.dropPrefix('aaaaaaaa');
      const other = keyOf('bbbbbbbb');
      cache.set('other', 'bbbbbbbb', other, startedAt);
      expect(cache.get('other')).toBe(other);
    });
  });

  it('clear forgets everything', () => {
    const cache = cacheWith();
    cache.set('h1', 'aaaaaaaa', keyOf('aaaaaaaa'), now);
    cache.set('h2', 'bbbbbbbb', null, now);
    cache.clear();
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toBeUndefined();
  });

  describe('size bound', () => {
    it('holds at most maxEntries, evicting the oldest first', () => {
      const cache = cacheWith(3);
      for (let i = 1; i <= 4; i++) cache.set(`h${i}`, `0000000${i}`, keyOf(`0000000${i}`, i), now);
      expect(cache.get('h1')).toBeUndefined();
      expect(cache.get('h2')?.keyId).toBe(2);
      expect(cache.get('h3')?.keyId).toBe(3);
      expect(cache.get('h4')?.keyId).toBe(4);
    });

    it('stays bounded under a flood of unknown keys, each with its own prefix', () => {
      // A client can present any number of well-formed but unknown keys; each leaves a negative
      // entry. Memory must stay bounded, so evicted and expired entries may leave nothing behind
      // in the per-prefix index either (read through the private field: nothing public shows it).
      const cache = cacheWith(100);
      for (let i = 0; i < 5_000; i++) {
        const prefix = i.toString(16).padStart(8, '0');
        cache.set(`unknown-${i}`, prefix, i % 2 ? null : keyOf(prefix, i), now);
      }
      now += POSITIVE_TTL;
      for (let i = 4_900; i < 5_000; i++) expect(cache.get(`unknown-${i}`)).toBeUndefined();
      const index = (cache as unknown as { byPrefix: Map<string, Set<string>> }).byPrefix;
      // Failed verifications leave nothing; the 50 verified keys among the last 100 stay (for
      // getStale) within the bound.
      expect(index.size).toBe(50);
    });

    it('still drops a prefix whose entries survived eviction of others', () => {
      const cache = cacheWith(2);
      cache.set('a1', 'aaaaaaaa', keyOf('aaaaaaaa'), now);
      cache.set('b1', 'bbbbbbbb', null, now);
      cache.set('c1', 'cccccccc', keyOf('cccccccc'), now);
      cache.dropPrefix('bbbbbbbb');
      expect(cache.get('b1')).toBeUndefined();
      expect(cache.get('c1')?.prefix).toBe('cccccccc');
    });
  });
});
