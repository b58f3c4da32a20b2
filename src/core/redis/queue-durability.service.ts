import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RedisService } from './redis.service';

/**
 * Whether the Redis that holds the queues persists them: `durable` with an append-only file,
 * `volatile` without one (a Redis restart loses every queued job, acknowledged readings
 * included), `unknown` when Redis does not let us ask (CONFIG disabled or renamed, as some
 * managed services do) or cannot be reached. Reported by `/health/ready`; see
 * docs/durability.md.
 */
export type QueueDurabilityState = 'durable' | 'volatile' | 'unknown';

const ASK_TIMEOUT_MS = 2_000;

@Injectable()
export class QueueDurability implements OnApplicationBootstrap {
  private readonly logger = new Logger('QueueDurability');
  private known: QueueDurabilityState = 'unknown';
  private warned = false;
  private unreachableLogged = false;

  constructor(private readonly redis: RedisService) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh();
  }

  /** Asks Redis again (it may have been restarted with other settings); keeps the last answer when it cannot. */
  async refresh(): Promise<QueueDurabilityState> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const ask = this.redis.client.call('CONFIG', 'GET', 'appendonly') as Promise<string[]>;
      const answer = await Promise.race([
        ask,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), ASK_TIMEOUT_MS))),
      ]);
      const value = Array.isArray(answer) ? answer[1] : undefined;
      this.report(value === 'yes' ? 'durable' : value === 'no' ? 'volatile' : 'unknown', value === undefined ? 'CONFIG GET appendonly gave no value' : '');
    } catch (err) {
      // A refused CONFIG is an answer ("cannot tell"); an unreachable Redis is not.
      if (/unknown command|NOPERM|not allowed|disabled/i.test((err as Error).message)) this.report('unknown', (err as Error).message);
      else if (!this.warned && !this.unreachableLogged) {
        this.unreachableLogged = true;
        this.logger.warn(`could not ask Redis whether it persists the queue yet (asked again at each readiness check): ${(err as Error).message}`);
      }
    } finally {
      clearTimeout(timer);
    }
    return this.known;
  }

  get state(): QueueDurabilityState {
    return this.known;
  }

  private report(state: QueueDurabilityState, why: string): void {
    this.known = state;
    if (this.warned) return;
    this.warned = true;
    if (state === 'durable') {
      this.logger.log('queue_durability=durable: Redis keeps the queue in an append-only file');
    } else if (state === 'volatile') {
      this.logger.warn(
        'queue_durability=volatile: Redis runs without an append-only file (appendonly no), so a Redis restart loses every queued job, ' +
          'acknowledged readings included. Start it with --appendonly yes (see docs/durability.md).',
      );
    } else {
      this.logger.warn(`queue_durability=unknown: Redis did not say whether it persists the queue (${why}); make sure it runs with appendonly yes (see docs/durability.md).`);
    }
  }
}
