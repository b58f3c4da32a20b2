import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import { createHash } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import type { ApiKeyVerifier } from '../../core/auth/api-key-verifier';
import { NotFoundError } from '../../core/errors/app-error';
import { isUnavailable, TRUSTED_WHILE_UNAVAILABLE_MS } from '../../core/errors/unavailable';
import { Page, PageRequest } from '../../core/http/pagination';
import { Metrics } from '../../core/metrics/metrics.service';
import { RedisService } from '../../core/redis/redis.service';
import { KEY_SCOPES, KeyScope, TenantScope, VerifiedKey } from '../../core/tenancy/tenant-scope';
import { API_KEY_PATTERN, generateApiKey, prefixOf } from './api-key-format';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeyResponse, CreatedApiKeyResponse, toApiKeyResponse } from './dto/api-key.response';
import { VerifiedKeyCache } from './verified-key-cache';

const BCRYPT_COST = 10;
const NEGATIVE_TTL_MS = 5_000;
const REVOKED_CHANNEL = 'api-keys:revoked';

@Injectable()
export class ApiKeysService implements ApiKeyVerifier, OnModuleInit {
  private readonly cache: VerifiedKeyCache;
  private readonly inflight = new Map<string, Promise<VerifiedKey | null>>();

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly redis: RedisService,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cache = new VerifiedKeyCache(config.apiKeyCacheTtlMs, Math.min(NEGATIVE_TTL_MS, config.apiKeyCacheTtlMs));
  }

  async onModuleInit(): Promise<void> {
    // Revocations made by any process reach this one through Redis; if the subscription
    // dropped, some may have been missed, so everything is verified afresh.
    await this.redis.subscribe(REVOKED_CHANNEL, (prefix) => this.cache.dropPrefix(prefix));
    this.redis.onResubscribe(() => this.cache.clear());
  }

  async create(scope: TenantScope, input: { name?: string; scopes?: KeyScope[] }): Promise<CreatedApiKeyResponse> {
    const scopes = input.scopes?.length ? KEY_SCOPES.filter((s) => input.scopes!.includes(s)) : [...KEY_SCOPES];
    for (let attempt = 0; ; attempt++) {
      const { prefix, key } = generateApiKey();
      const keyHash = await bcrypt.hash(key, BCRYPT_COST);
      try {
        const row = await this.repo.insert(scope, { prefix, keyHash, name: input.name ?? null, scopes });
        return { api_key: key, ...toApiKeyResponse(row) };
      } catch (err) {
        // A prefix collision (4 random bytes) is rare; draw again.
        if ((err as { code?: string }).code === '23505' && attempt < 5) continue;
        throw err;
      }
    }
  }

  async list(scope: TenantScope, page: PageRequest): Promise<Page<ApiKeyResponse>> {
    return Page.of(await this.repo.list(scope, page), page, toApiKeyResponse);
  }

  async revoke(scope: TenantScope, prefix: string): Promise<void> {
    if (!(await this.repo.revoke(scope, prefix))) throw new NotFoundError('API_KEY.NOT_FOUND', 'api key not found');
    this.cache.dropPrefix(prefix);
    await this.redis.publish(REVOKED_CHANNEL, prefix);
  }

  async verify(rawKey: string): Promise<VerifiedKey | null> {
    if (!API_KEY_PATTERN.test(rawKey)) return null;
    const hash = createHash('sha256').update(rawKey).digest('base64url');
    const cached = this.cache.get(hash);
    if (cached !== undefined) return cached;
    let pending = this.inflight.get(hash);
    if (!pending) {
      pending = this.verifyUncached(rawKey, hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, pending);
    }
    return pending;
  }

  /**
   * The key's row by its prefix, and bcrypt only if this key was never proven against the hash
   * the row holds: bcrypt costs ~50 ms of CPU by design, and the first request after each TTL
   * used to wait for it; what the TTL must repeat is the row read, which sees a revocation
   * (docs/architecture.md, "Auth").
   */
  private async verifyUncached(rawKey: string, hash: string): Promise<VerifiedKey | null> {
    const startedAt = Date.now();
    const prefix = prefixOf(rawKey)!;
    let row: Awaited<ReturnType<ApiKeysRepository['findActiveByPrefix']>>;
    try {
      row = await this.repo.findActiveByPrefix(prefix);
    } catch (err) {
      // Postgres away: a key this process verified lately still opens the door.
      const stale = isUnavailable(err) ? this.cache.getStale(hash, TRUSTED_WHILE_UNAVAILABLE_MS) : undefined;
      if (stale) return stale;
      throw err;
    }
    const proven = !!row && this.cache.provenHash(hash) === row.keyHash;
    if (row) this.metrics.apiKeyChecks.inc({ check: proven ? 'row' : 'bcrypt' });
    const key: VerifiedKey | null =
      row && (proven || (await bcrypt.compare(rawKey, row.keyHash)))
        ? Object.freeze({ keyId: row.id, prefix, orgId: row.orgId, projectId: row.projectId, scopes: row.scopes })
        : null;
    this.cache.set(hash, prefix, key, startedAt, row?.keyHash);
    return key;
  }
}
