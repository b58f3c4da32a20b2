import 'reflect-metadata';
import { buildConfig } from '../../src/config/app-config';
import { parseEnv } from '../../src/config/env.schema';
import { createDataSource } from '../../src/core/database/data-source';
import { ensureDatabase } from '../../src/core/database/ensure-database';
import { runMigrations } from '../../src/core/database/migrate';
import { newRunEnv } from './test-env';

/** Creates the run's database and applies every migration to it, as CI must. */
export default async function globalSetup(): Promise<void> {
  const env = newRunEnv();
  Object.assign(process.env, env);
  const config = buildConfig(parseEnv(env));
  await ensureDatabase(config.databaseUrl);
  const ds = await createDataSource(config).initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}
