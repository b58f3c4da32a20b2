import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { RedisService } from '../../core/redis/redis.service';

/** A slot not renewed for this long belongs to a process that died: it is free again. */
export const SLOT_TTL_MS = 45_000;

// Drops lapsed slots, then takes one if fewer than the cap are held.
const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if tonumber(ARGV[3]) > 0 and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

/** A held stream slot: renew it with each heartbeat, free it when the stream ends. */
export interface StreamSlot {
  renew(): Promise<void>;
  free(): Promise<void>;
}

/**
 * SSE_MAX_STREAMS_PER_KEY across every api process: each open /alerts/stream holds a member of
 * a sorted set per API key in Redis, scored by when it lapses. A stream that ends frees its
 * slot at once; a process that dies leaves slots that lapse within SLOT_TTL_MS.
 */
@Injectable()
export class StreamSlots {
  private readonly cap: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisService,
  ) {
    this.cap = config.rateLimits.streamsPerKey;
  }

  /** A slot for one more stream of the key, or null when the key holds its cap already. */
  async take(keyPrefix: string): Promise<StreamSlot | null> {
    const set = this.redis.key('streams', keyPrefix);
    const member = randomUUID();
    const now = Date.now();
    const taken = await this.redis.client.eval(TAKE, 1, set, now, now + SLOT_TTL_MS, this.cap, member, SLOT_TTL_MS * 2);
    if (taken !== 1) return null;
    return {
      renew: async () => {
        await this.redis.client.multi().zadd(set, 'XX', Date.now() + SLOT_TTL_MS, member).pexpire(set, SLOT_TTL_MS * 2).exec();
      },
      free: async () => {
        await this.redis.client.zrem(set, member);
      },
    };
  }
}
