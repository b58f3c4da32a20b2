import { ConfigError, ENV_SCHEMA, parseEnv, parseVar } from './env.schema';

const REQUIRED = {
  DATABASE_URL: 'postgres://watchpost:db-password-123@db.internal:5432/watchpost',
  REDIS_URL: 'redis://:redis-password-456@cache.internal:6379',
  ADMIN_TOKEN: 'admin-token-abcdefghijklmnop',
};

/** The ConfigError parseEnv throws for `source`; fails the test when it does not throw one. */
function configErrorOf(source: Record<string, string | undefined>): ConfigError {
  try {
    parseEnv(source);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('parseEnv accepted the environment');
}

describe('parseEnv', () => {
  it('applies the documented defaults to everything not given', () => {
    const env = parseEnv(REQUIRED);
    expect(env).toEqual({
      ...REQUIRED,
      PORT: 3000,
      ROLE: 'all',
      REDIS_PREFIX: 'watchpost',
      MIGRATE_ON_START: true,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: false,
      LOG_LEVEL: 'info',
      MAX_BODY_BYTES: 10_485_760,
      MAX_BODY_BYTES_IN_FLIGHT: 16_777_216,
      RATE_LIMIT_TELEMETRY_PER_MINUTE: 1000,
      RATE_LIMIT_TELEMETRY_PER_HOUR: 10_000,
      RATE_LIMIT_PROJECT_PER_MINUTE: 600,
      RATE_LIMIT_READINGS_PER_MINUTE: 1_200_000,
      SSE_MAX_STREAMS_PER_KEY: 20,
      RATE_LIMIT_ADMIN_PER_MINUTE: 0,
      API_KEY_CACHE_TTL_SECONDS: 30,
      RETENTION_DAYS: 0,
      ROLLUP_METRICS_PER_PROJECT: 1000,
      DB_POOL_SIZE: 20,
      WEBHOOK_CONNECT_TIMEOUT_MS: 2000,
      WEBHOOK_TIMEOUT_MS: 5000,
      WEBHOOK_RETRY_BASE_MS: 5000,
      WEBHOOK_MAX_RETRIES: 8,
      CIRCUIT_FAILURE_THRESHOLD: 5,
      CIRCUIT_RESET_TIMEOUT_MS: 60_000,
      WEBHOOK_SWEEP_INTERVAL_MS: 15_000,
      WEBHOOK_INLINE_FIRST_ATTEMPTS: 64,
      METRICS_PORT: 0,
      SHUTDOWN_GRACE_MS: 25_000,
      HEAP_GROWING_PERCENT: 100,
      LOW_PRIORITY_LANES: true,
      LOW_PRIORITY_NICE: 15,
      LOW_PRIORITY_IDLE_CLASS: true,
      LOW_PRIORITY_BODY_BYTES: 65536,
      LOW_PRIORITY_LANE_TIMEOUT_MS: 30_000,
      LANE: 'none',
    });
  });

  it('reads one variable as parseEnv does (parseVar)', () => {
    expect(parseVar('LOW_PRIORITY_IDLE_CLASS', {})).toBe(true);
    expect(parseVar('LOW_PRIORITY_IDLE_CLASS', { LOW_PRIORITY_IDLE_CLASS: '' })).toBe(true);
    expect(parseVar('LOW_PRIORITY_IDLE_CLASS', { LOW_PRIORITY_IDLE_CLASS: 'no' })).toBe(false);
    expect(parseVar('LOW_PRIORITY_NICE', { LOW_PRIORITY_NICE: '10' })).toBe(10);
    expect(() => parseVar('LOW_PRIORITY_NICE', { LOW_PRIORITY_NICE: '30' })).toThrow(ConfigError);
  });

  it('treats an empty variable as unset', () => {
    expect(parseEnv({ ...REQUIRED, PORT: '', ROLE: '' })).toMatchObject({ PORT: 3000, ROLE: 'all' });
    expect(configErrorOf({ ...REQUIRED, ADMIN_TOKEN: '' }).problems).toEqual(['ADMIN_TOKEN is required']);
  });

  it('parses given values into their types', () => {
    const env = parseEnv({
      ...REQUIRED,
      PORT: '8080',
      ROLE: 'worker',
      MIGRATE_ON_START: 'no',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'TRUE',
      MAX_BODY_BYTES: '2048',
      RATE_LIMIT_PROJECT_PER_MINUTE: '5',
      LOG_LEVEL: 'debug',
    });
    expect(env).toMatchObject({
      PORT: 8080,
      ROLE: 'worker',
      MIGRATE_ON_START: false,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: true,
      MAX_BODY_BYTES: 2048,
      RATE_LIMIT_PROJECT_PER_MINUTE: 5,
      LOG_LEVEL: 'debug',
    });
  });

  it('names every missing required variable at once', () => {
    const error = configErrorOf({});
    expect(error.problems).toEqual(['DATABASE_URL is required', 'REDIS_URL is required', 'ADMIN_TOKEN is required']);
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN']) expect(error.message).toContain(name);
    const required = Object.entries(ENV_SCHEMA).filter(([, spec]) => !('default' in spec)).map(([name]) => name);
    expect(required.sort()).toEqual(['ADMIN_TOKEN', 'DATABASE_URL', 'REDIS_URL']);
  });

  it('names every bad value at once, with what was wrong', () => {
    const error = configErrorOf({
      ...REQUIRED,
      PORT: 'eighty',
      ROLE: 'boss',
      MIGRATE_ON_START: 'maybe',
      MAX_BODY_BYTES: '10',
      RATE_LIMIT_PROJECT_PER_MINUTE: '-1',
      REDIS_PREFIX: 'has spaces',
      LOG_LEVEL: 'loud',
    });
    const named = error.problems.map((p) => p.split(' ')[0]).sort();
    expect(named).toEqual(['LOG_LEVEL', 'MAX_BODY_BYTES', 'MIGRATE_ON_START', 'PORT', 'RATE_LIMIT_PROJECT_PER_MINUTE', 'REDIS_PREFIX', 'ROLE']);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        'PORT must be an integer (got "eighty")',
        'ROLE must be one of api, worker, all (got "boss")',
        'MIGRATE_ON_START must be true or false (got "maybe")',
      ]),
    );
    expect(error.problems.find((p) => p.startsWith('MAX_BODY_BYTES'))).toMatch(/between 1024/);
  });

  it('reports missing and bad variables together', () => {
    const error = configErrorOf({ REDIS_URL: REQUIRED.REDIS_URL, PORT: '70000' });
    expect(error.problems.map((p) => p.split(' ')[0]).sort()).toEqual(['ADMIN_TOKEN', 'DATABASE_URL', 'PORT']);
  });

  it('refuses URLs of the wrong kind and an admin token with spaces', () => {
    const error = configErrorOf({ DATABASE_URL: 'mysql://db/x', REDIS_URL: 'not a url', ADMIN_TOKEN: 'two words' });
    expect(error.problems.map((p) => p.split(' ')[0])).toEqual(['DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN']);
  });

  it('never echoes the value of a secret', () => {
    const secrets = {
      DATABASE_URL: 'mysql://watchpost:db-secret-pw@db.internal/watchpost',
      REDIS_URL: 'http://:redis-secret-pw@cache.internal:6379',
      ADMIN_TOKEN: 'admin secret with spaces',
    };
    const error = configErrorOf(secrets);
    expect(error.problems.map((p) => p.split(' ')[0])).toEqual(['DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN']);
    for (const text of [error.message, ...error.problems]) {
      expect(text).not.toContain('db-secret-pw');
      expect(text).not.toContain('redis-secret-pw');
      expect(text).not.toContain('admin secret');
    }
  });
});
