import { DataSource } from 'typeorm';
import { ADVISORY_LOCKS } from './advisory-locks';

const MIGRATION_LOCK_KEY = ADVISORY_LOCKS.migrations;

/**
 * Applies pending migrations while holding a session advisory lock, so an api and a worker
 * starting together never race to apply the same migration.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}
