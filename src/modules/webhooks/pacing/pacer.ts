import { Injectable } from '@nestjs/common';
import { RedisScript } from '../../../core/redis/redis-script';
import { RedisService } from '../../../core/redis/redis.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { WebhooksRepository } from '../webhooks.repository';
import { intervalMs, Turns } from './pacing';

/**
 * Reserves `ARGV[1]` consecutive turns `ARGV[2]` ms apart on one webhook's pace: the first at
 * its next free turn (or now, when it has been idle), and moves the next free turn past them.
 * The state is that one time (`KEYS[1]`, ms by the Redis server's clock, the one clock every
 * worker shares), kept until it lies a minute in the past. → {first turn, now}, as strings
 * (Lua numbers come back from Redis as integers otherwise).
 */
const RESERVE = new RedisScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local first = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local free = first + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%.3f', free), 'PX', math.ceil(free - now) + 60000)
return {string.format('%.3f', first), string.format('%.3f', now)}`);

/** How long a webhook's rate is taken as read, per process (a PATCH takes effect within this). */
const RATE_TTL_MS = 1000;
const MAX_CACHED = 10_000;
/** How long the best clock reading is kept before a worse one may replace it. */
const CLOCK_SAMPLE_TTL_MS = 30_000;

/**
 * `rate_limit_per_second` across every worker process: turns are handed out from one shared
 * schedule in Redis (like the circuit), so N workers together keep the pace of one.
 */
@Injectable()
export class Pacer {
  private readonly rates = new Map<number, { at: number; rate: Promise<number | null | undefined> }>();
  /** Redis's clock minus ours, from the quickest recent round trip (the least uncertain reading). */
  private clock = { offset: 0, rtt: Infinity, at: 0 };

  constructor(
    private readonly redis: RedisService,
    private readonly webhooks: WebhooksRepository,
  ) {}

  /** The webhook's pace (null: none; undefined: the webhook is gone), read at most once a second. */
  rateOf(scope: TenantScope, webhookId: number): Promise<number | null | undefined> {
    const cached = this.rates.get(webhookId);
    if (cached && Date.now() - cached.at < RATE_TTL_MS) return cached.rate;
    if (this.rates.size >= MAX_CACHED) this.rates.clear();
    const rate = this.webhooks.rateOf(scope, webhookId);
    this.rates.set(webhookId, { at: Date.now(), rate });
    rate.catch(() => this.rates.delete(webhookId));
    return rate;
  }

  /** The next `count` turns of the webhook at `ratePerSecond`, on this process's clock. */
  async reserve(webhookId: number, count: number, ratePerSecond: number): Promise<Turns> {
    const every = intervalMs(ratePerSecond);
    const sent = Date.now();
    const [first, now] = (await RESERVE.run(this.redis.client, [this.key(webhookId)], count, every)) as [string, string];
    const back = Date.now();
    // Turns from several processes interleave, so each must read the shared clock closely: a
    // slow round trip (a busy event loop) would shift its turns late by its delay.
    if (back - sent <= this.clock.rtt || back - this.clock.at > CLOCK_SAMPLE_TTL_MS) {
      this.clock = { offset: Number(now) - (sent + back) / 2, rtt: back - sent, at: back };
    }
    return { at: Number(first) - this.clock.offset, every };
  }

  /** Drops the webhook's schedule: after its pace changed, turns start again from now. */
  async forget(webhookId: number): Promise<void> {
    this.rates.delete(webhookId);
    await this.redis.client.del(this.key(webhookId));
  }

  private key(webhookId: number): string {
    return this.redis.key('pace', webhookId);
  }
}
