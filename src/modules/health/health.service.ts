import { Injectable } from '@nestjs/common';
import { QueueDurability, QueueDurabilityState } from '../../core/redis/queue-durability.service';
import { RedisService } from '../../core/redis/redis.service';
import { HealthRepository } from './health.repository';

type Check = 'up' | 'down';
const CHECK_TIMEOUT_MS = 2000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

@Injectable()
export class HealthService {
  constructor(
    private readonly repo: HealthRepository,
    private readonly redis: RedisService,
    private readonly durability: QueueDurability,
  ) {}

  /** `durable`, `volatile` or `unknown`: whether Redis persists the queue (docs/durability.md). */
  queueDurability(): Promise<QueueDurabilityState> {
    return this.durability.refresh();
  }

  async check(): Promise<{ postgres: Check; redis: Check }> {
    const [postgres, redis] = await Promise.all([
      within(this.repo.ping(), CHECK_TIMEOUT_MS).then(
        () => 'up' as const,
        () => 'down' as const,
      ),
      within(this.redis.ping(), CHECK_TIMEOUT_MS).then(
        (ok) => (ok ? ('up' as const) : ('down' as const)),
        () => 'down' as const,
      ),
    ]);
    return { postgres, redis };
  }
}
