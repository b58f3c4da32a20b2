import { randomBytes } from 'node:crypto';

/**
 * One throwaway database and Redis prefix per test run. The global setup picks them and
 * exports them through the environment, which every jest worker and spawned process inherits.
 */
export const BASE_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const BASE_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export function newRunEnv(): Record<string, string> {
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const db = new URL(BASE_DATABASE_URL);
  db.pathname = `/watchpost_test_${id}`;
  return {
    DATABASE_URL: db.toString(),
    REDIS_URL: BASE_REDIS_URL,
    REDIS_PREFIX: `wptest:${id}`,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    MIGRATE_ON_START: 'true',
    LOG_LEVEL: 'error',
    // One process per app: the lanes (docs/lanes.md) are held by test/e2e/lanes.e2e-spec.ts,
    // which turns them on; elsewhere they would triple the processes every suite starts.
    LOW_PRIORITY_LANES: 'false',
  };
}
