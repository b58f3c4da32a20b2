import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import { RedisScript } from '../../../core/redis/redis-script';
import { RedisService } from '../../../core/redis/redis.service';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitSnapshot {
  state: CircuitState;
  failures: number;
  openedAt: Date | null;
  nextAttemptAt: Date | null;
}

/** What a sender may do now: send, send as the one half-open probe, or wait until `until`. */
export type Admission = { kind: 'send'; failures: number } | { kind: 'probe' } | { kind: 'wait'; until: Date };

/**
 * The shared state of one webhook's circuit, in a Redis hash (`state`, `failures`, `opened_at`,
 * `next_attempt`, `probe_until`), changed only by these scripts, so every process sees and
 * moves the same circuit atomically. Times come from the Redis server's clock, the one clock
 * all processes share.
 */
const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

/** KEYS[1] circuit; ARGV probe lease ms. → {kind, until_ms} */
const ADMIT = `${NOW}
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'closed' then return {'send', tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')} end
local lease = tonumber(ARGV[1])
if state == 'open' then
  local next_attempt = tonumber(redis.call('HGET', KEYS[1], 'next_attempt'))
  if now < next_attempt then return {'wait', next_attempt} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + lease)
  return {'probe', 0}
end
local probe_until = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
if probe_until <= now then
  redis.call('HSET', KEYS[1], 'probe_until', now + lease)
  return {'probe', 0}
end
return {'wait', math.min(probe_until, now + 1000)}`;

/** KEYS[1]; ARGV was_probe. A success closes a probing circuit and clears a closed one's count. */
const SUCCEED = `
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'open' then return state end
if state == 'half_open' and ARGV[1] ~= '1' then return state end
redis.call('DEL', KEYS[1])
return 'closed'`;

/** KEYS[1]; ARGV threshold, reset ms, was_probe. Opens at the threshold, or when a probe fails. */
const FAIL = `${NOW}
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if (state == 'closed' and failures >= tonumber(ARGV[1])) or (state == 'half_open' and ARGV[3] == '1') then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'next_attempt', now + tonumber(ARGV[2]), 'probe_until', 0)
  return 'open'
end
if state == 'closed' then redis.call('HSET', KEYS[1], 'state', 'closed') end
return state`;

/** KEYS[1]. A probe that was admitted but not sent hands its turn to the next sender. */
const RELEASE_PROBE = `
if redis.call('HGET', KEYS[1], 'state') == 'half_open' then redis.call('HSET', KEYS[1], 'probe_until', 0) end
return 1`;

/** KEYS[1]. → {state, failures, opened_at, next_attempt, now} */
const READ = `${NOW}
local v = redis.call('HMGET', KEYS[1], 'state', 'failures', 'opened_at', 'next_attempt')
return {v[1] or 'closed', v[2] or '0', v[3] or '', v[4] or '', now}`;

@Injectable()
export class CircuitStore {
  private readonly scripts = new Map<string, RedisScript>();
  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async admit(webhookId: number, probeLeaseMs: number): Promise<Admission> {
    const [kind, n] = (await this.run('admit', ADMIT, webhookId, probeLeaseMs)) as [string, number];
    if (kind === 'wait') return { kind, until: new Date(Number(n)) };
    if (kind === 'send') return { kind, failures: Number(n) };
    return { kind: 'probe' };
  }

  async succeeded(webhookId: number, wasProbe: boolean): Promise<CircuitState> {
    return (await this.run('succeed', SUCCEED, webhookId, wasProbe ? '1' : '0')) as CircuitState;
  }

  async failed(webhookId: number, wasProbe: boolean): Promise<CircuitState> {
    const { circuitFailureThreshold, circuitResetTimeoutMs } = this.config.webhooks;
    return (await this.run('fail', FAIL, webhookId, circuitFailureThreshold, circuitResetTimeoutMs, wasProbe ? '1' : '0')) as CircuitState;
  }

  async releaseProbe(webhookId: number): Promise<void> {
    await this.run('release', RELEASE_PROBE, webhookId);
  }

  async reset(webhookId: number): Promise<void> {
    await this.redis.client.del(this.key(webhookId));
  }

  /**
   * The circuit as an operator sees it. An open circuit whose reset timeout has passed is
   * reported half-open, as opossum reports it: the next send will be the probe.
   */
  async read(webhookId: number): Promise<CircuitSnapshot> {
    const [state, failures, openedAt, nextAttempt, now] = (await this.run('read', READ, webhookId)) as string[];
    const next = nextAttempt ? Number(nextAttempt) : null;
    const shown = state === 'open' && next !== null && Number(now) >= next ? 'half_open' : (state as CircuitState);
    return {
      state: shown,
      failures: Number(failures),
      openedAt: openedAt ? new Date(Number(openedAt)) : null,
      nextAttemptAt: state === 'closed' || next === null ? null : new Date(next),
    };
  }

  private run(name: string, script: string, webhookId: number, ...args: (string | number)[]): Promise<unknown> {
    let s = this.scripts.get(name);
    if (!s) {
      s = new RedisScript(script);
      this.scripts.set(name, s);
    }
    return s.run(this.redis.client, [this.key(webhookId)], ...args);
  }

  private key(webhookId: number): string {
    return this.redis.key('circuit', webhookId);
  }
}
