import 'reflect-metadata';
import { loadConfig } from '../src/config/app-config';
import { createDataSource } from '../src/core/database/data-source';
import { ensureDatabase } from '../src/core/database/ensure-database';
import { runMigrations } from '../src/core/database/migrate';

/** `npm run migration:run`: creates the database if needed and applies pending migrations. */
async function main(): Promise<void> {
  const config = loadConfig();
  await ensureDatabase(config.databaseUrl);
  const ds = await createDataSource(config).initialize();
  try {
    const applied = await runMigrations(ds);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'nothing to apply\n');
  } finally {
    await ds.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.message ?? err}\n`);
  process.exit(1);
});
