/**
 * Applies pending migrations and exits (`npm run migration:run`, after a build): for deployments
 * that run with MIGRATE_ON_START=false and migrate as a separate step. Same config as the app.
 */
import 'reflect-metadata';
import { loadConfig } from '../src/config/app-config';
import { ConfigError } from '../src/config/env.schema';
import { createDataSource } from '../src/core/database/data-source';
import { ensureDatabase } from '../src/core/database/ensure-database';
import { runMigrations } from '../src/core/database/migrate';

async function main(): Promise<void> {
  const config = loadConfig();
  await ensureDatabase(config.databaseUrl);
  const ds = await createDataSource(config).initialize();
  try {
    const applied = await runMigrations(ds);
    process.stdout.write(applied.length ? `applied migrations: ${applied.join(', ')}\n` : 'no pending migrations\n');
  } finally {
    await ds.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : (err?.stack ?? String(err))}\n`);
  process.exit(1);
});
