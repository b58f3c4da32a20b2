import { BullModule } from '@nestjs/bull';
import { DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config';
import { JobFailureMonitor } from './job-failure-monitor';
import { JobQueue } from './job-queue.service';
import { QUEUES } from './queues';
import { CAPPED_BACKOFF, cappedBackoff } from './retry-policy';

/** Bull on Redis; REDIS_PREFIX namespaces every queue key so instances can share a Redis. */
@Global()
@Module({})
export class QueueModule {
  static forRoot(config: AppConfig): DynamicModule {
    const queues = BullModule.registerQueue(...Object.values(QUEUES).map((name) => ({ name })));
    return {
      module: QueueModule,
      imports: [
        BullModule.forRoot({
          url: config.redisUrl,
          prefix: config.redisPrefix,
          // A failed job is kept for the operator to see, never removed (docs/durability.md).
          defaultJobOptions: { removeOnComplete: 1000, removeOnFail: false },
          // A job whose worker died is handed back when its lock lapses; Bull's default gives
          // up after one such stall, which would drop an acknowledged batch on a second crash.
          settings: { maxStalledCount: 1000, lockDuration: 30_000, stalledInterval: 15_000, backoffStrategies: { [CAPPED_BACKOFF]: cappedBackoff } },
        }),
        queues,
      ],
      providers: [JobQueue, JobFailureMonitor],
      exports: [queues, JobQueue],
    };
  }
}
