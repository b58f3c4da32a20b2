import { DynamicModule, Module } from '@nestjs/common';
import { ApiModule } from './api.module';
import type { AppConfig } from './config/app-config';
import { CoreModule } from './core/core.module';
import { WorkerLaneModule, WorkerModule } from './worker.module';

/**
 * Composes the roles: `api` serves HTTP, `worker` runs the queues, `all` does both. A worker's
 * lane (docs/lanes.md) runs its heavy queues alone; an api's lane is an api.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const imports: DynamicModule['imports'] = [CoreModule.forRoot(config)];
    if (config.lanes.self === 'worker') imports.push(WorkerLaneModule);
    else {
      if (config.role !== 'worker') imports.push(ApiModule);
      if (config.role !== 'api') imports.push(WorkerModule);
    }
    return { module: AppModule, imports };
  }
}
