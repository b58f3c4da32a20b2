import { DataSource, DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import type { AppConfig } from '../../config/app-config';
import { lowerBackendPriority, NewConnection } from '../lanes/backend-priority';
import { ApiKey } from '../../modules/api-keys/api-key.entity';
import { Device } from '../../modules/devices/device.entity';
import { Org } from '../../modules/orgs/org.entity';
import { Project } from '../../modules/projects/project.entity';
import { SnakeNamingStrategy } from './snake-naming.strategy';

export const ENTITIES = [Org, Project, ApiKey, Device];

/** The one DataSource definition, shared by the app, the migration CLI and tests. */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    parseInt8: true,
    logging: ['error'],
    // A connection (or a free pool slot) that does not come within 30 s is an error, answered
    // 503, not a request that hangs while Postgres is unreachable (docs/durability.md).
    extra: {
      max: config.dbPoolSize,
      application_name: `watchpost-${config.role}${config.lanes.self === 'none' ? '' : '-lane'}`,
      connectionTimeoutMillis: 30_000,
      // A lane's backends at the lane's priority (docs/lanes.md, "Its database work").
      ...(config.lanes.self === 'none' ? {} : { onConnect: (client: NewConnection) => lowerBackendPriority(client, config.lanes.nice) }),
    },
  };
}

export function createDataSource(config: AppConfig): DataSource {
  return new DataSource(dataSourceOptions(config));
}
