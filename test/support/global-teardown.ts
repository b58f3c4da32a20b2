import { dropDatabase } from '../../src/core/database/ensure-database';
import { deleteKeysWithPrefix } from '../../src/core/redis/delete-prefix';

/** Drops the run's database and its Redis keys, unless KEEP_TEST_DB asks to keep them. */
export default async function globalTeardown(): Promise<void> {
  if (process.env.KEEP_TEST_DB) return;
  await dropDatabase(process.env.DATABASE_URL!);
  await deleteKeysWithPrefix(process.env.REDIS_URL!, process.env.REDIS_PREFIX!);
}
