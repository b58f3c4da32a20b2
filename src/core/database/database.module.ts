import { DynamicModule, Global, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { CommitBarrier } from './commit-barrier';
import { dataSourceOptions } from './data-source';
import { ensureDatabase } from './ensure-database';
import { runMigrations } from './migrate';

@Global()
@Module({})
export class DatabaseModule {
  /** Connects, creating the database and applying migrations first when MIGRATE_ON_START is on. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => dataSourceOptions(config),
          dataSourceFactory: async (options) => {
            if (config.migrateOnStart) await ensureDatabase(config.databaseUrl);
            const ds = await new DataSource(options!).initialize();
            if (config.migrateOnStart) {
              const applied = await runMigrations(ds);
              if (applied.length) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
            }
            return ds;
          },
        }),
      ],
      providers: [CommitBarrier],
      exports: [CommitBarrier],
    };
  }
}
