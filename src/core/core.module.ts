import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from './database/database.module';
import { LanesModule } from './lanes/lanes.service';
import { LifecycleModule } from './lifecycle/shutdown-signal';
import { MetricsModule } from './metrics/metrics.module';
import { QueueModule } from './queue/queue.module';
import { RedisModule } from './redis/redis.module';

/** What every role needs: validated config, Postgres, Redis, the queues and metrics. */
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(config), RedisModule, QueueModule.forRoot(config), MetricsModule, LifecycleModule, LanesModule],
    };
  }
}
