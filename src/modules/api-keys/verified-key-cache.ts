import type { VerifiedKey } from '../../core/tenancy/tenant-scope';

interface Entry {
  key: VerifiedKey | null;
  prefix: string;
  expiresAt: number;
  verifiedAt: number;
  /** The stored bcrypt hash a verified key was proven against. */
  keyHash?: string;
}

/**
 * Remembers verification results by a hash of the whole presented key, so a key is checked
 * against the database once per TTL rather than once per request, and with bcrypt only once
 * (`provenHash`). Failures are remembered briefly too, so a client hammering with a wrong key
 * does not buy a bcrypt per request. Dropping a prefix evicts every entry of that key and
 * stops in-flight verifications from caching a stale answer.
 */
export class VerifiedKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byPrefix = new Map<string, Set<string>>();
  private readonly droppedAt = new Map<string, number>();

  constructor(
    private readonly positiveTtlMs: number,
    private readonly negativeTtlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(hash: string): VerifiedKey | null | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      // A key that verified is kept past its TTL (until evicted, dropped or cleared) for `getStale`.
      if (!entry.key) this.remove(hash, entry);
      return undefined;
    }
    return entry.key;
  }

  /**
   * A key that verified within `maxAgeMs`, even past its TTL: only for when the database
   * cannot be asked (docs/durability.md). Revocations still drop it through `dropPrefix`.
   */
  getStale(hash: string, maxAgeMs: number): VerifiedKey | undefined {
    const entry = this.entries.get(hash);
    return entry?.key && this.now() - entry.verifiedAt <= maxAgeMs ? entry.key : undefined;
  }

  /**
   * The stored hash this exact key was proven against by bcrypt, even past its TTL: while the
   * key's row still holds that hash, the key still matches it, and bcrypt need not run again.
   */
  provenHash(hash: string): string | undefined {
    const entry = this.entries.get(hash);
    return entry?.key ? entry.keyHash : undefined;
  }

  /** `startedAt` is when the verification began; an answer older than a drop is not kept. */
  set(hash: string, prefix: string, key: VerifiedKey | null, startedAt: number, keyHash?: string): void {
    const dropped = this.droppedAt.get(prefix);
    if (dropped !== undefined && dropped >= startedAt) return;
    const ttl = key ? this.positiveTtlMs : this.negativeTtlMs;
    if (ttl <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest, this.entries.get(oldest)!);
    }
    this.entries.delete(hash);
    this.entries.set(hash, { key, prefix, expiresAt: this.now() + ttl, verifiedAt: this.now(), keyHash: key ? keyHash : undefined });
    let hashes = this.byPrefix.get(prefix);
    if (!hashes) this.byPrefix.set(prefix, (hashes = new Set()));
    hashes.add(hash);
  }

  dropPrefix(prefix: string): void {
    const now = this.now();
    this.droppedAt.set(prefix, now);
    for (const hash of this.byPrefix.get(prefix) ?? []) this.entries.delete(hash);
    this.byPrefix.delete(prefix);
    // Drop marks only matter to verifications in flight; forget old ones.
    for (const [p, at] of this.droppedAt) if (now - at > 60_000) this.droppedAt.delete(p);
  }

  clear(): void {
    this.entries.clear();
    this.byPrefix.clear();
  }

  private remove(hash: string, entry: Entry): void {
    this.entries.delete(hash);
    const hashes = this.byPrefix.get(entry.prefix);
    hashes?.delete(hash);
    if (hashes?.size === 0) this.byPrefix.delete(entry.prefix);
  }
}
