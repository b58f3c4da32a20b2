import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { RateLimitedError } from '../errors/app-error';
import { RedisService } from '../redis/redis.service';
import type { TenantScope } from '../tenancy/tenant-scope';

const WINDOW_MS = 60_000;
/** How long a quota check may wait for Redis before the batch goes through uncounted. */
const REDIS_TIMEOUT_MS = 500;

// Takes all of a batch or none of it: the count only grows when the whole batch fits.
const TAKE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * RATE_LIMIT_READINGS_PER_MINUTE: readings per project in fixed minute windows, counted in
 * Redis so every api process shares the count. Like the request limits it fails open when
 * Redis does not answer: the API must keep taking readings it can store itself.
 */
@Injectable()
export class ReadingsQuota {
  private readonly logger = new Logger('RateLimit');
  private readonly limit: number;
  private lastWarning = 0;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisService,
  ) {
    this.limit = config.rateLimits.readingsPerMinute;
  }

  /** Counts `readings` against the project's minute, or throws a 429 taking none of them. */
  async take(scope: TenantScope, readings: number): Promise<void> {
    if (this.limit <= 0 || readings <= 0) return;
    const now = Date.now();
    const window = Math.floor(now / WINDOW_MS);
    let taken: number;
    let timer: NodeJS.Timeout | undefined;
    try {
      taken = (await Promise.race([
        this.redis.client.eval(TAKE, 1, this.redis.key('quota', 'readings', scope.projectId, window), readings, this.limit, WINDOW_MS * 2),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), REDIS_TIMEOUT_MS))),
      ])) as number;
    } catch (err) {
      if (now - this.lastWarning > 10_000) {
        this.lastWarning = now;
        this.logger.warn(`readings quota not enforced, Redis unavailable: ${(err as Error).message}`);
      }
      return;
    } finally {
      clearTimeout(timer);
    }
    if (taken === 1) return;
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    throw new RateLimitedError(
      'RATE_LIMIT.READINGS_QUOTA',
      `this batch would pass the project's quota of ${this.limit} readings per minute; none of it was taken`,
      retryAfter,
    );
  }
}
