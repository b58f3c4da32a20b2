/**
 * The one environment schema. Every variable the platform reads is declared here with its
 * default; `.env.example` mirrors this list. Nothing else in the code base reads process.env.
 */
export type Role = 'api' | 'worker' | 'all';
/** Which low-priority lane a process is (set by its parent process; docs/lanes.md). */
export type Lane = 'none' | 'api' | 'worker';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

type Parser<T> = (raw: string) => T;

interface VarSpec<T> {
  default?: string;
  parse: Parser<T>;
  secret?: boolean;
}

class InvalidValue extends Error {}

const int =
  (min: number, max: number = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new InvalidValue(`must be an integer`);
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidValue(`must be between ${min} and ${max}`);
    return n;
  };

const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  throw new InvalidValue('must be true or false');
};

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new InvalidValue(`must be one of ${values.join(', ')}`);
    return v;
  };

const url =
  (...protocols: string[]): Parser<string> =>
  (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw.trim());
    } catch {
      throw new InvalidValue('must be a URL');
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new InvalidValue(`must use ${protocols.join(' or ')}`);
    }
    return raw.trim();
  };

const text =
  (pattern: RegExp, what: string): Parser<string> =>
  (raw) => {
    if (!pattern.test(raw)) throw new InvalidValue(what);
    return raw;
  };

export const ENV_SCHEMA = {
  PORT: { default: '3000', parse: int(0, 65535) },
  ROLE: { default: 'all', parse: oneOf<Role>('api', 'worker', 'all') },
  DATABASE_URL: { parse: url('postgres:', 'postgresql:'), secret: true },
  REDIS_URL: { parse: url('redis:', 'rediss:'), secret: true },
  ADMIN_TOKEN: {
    parse: text(/^\S+$/, 'must be one word without spaces'),
    secret: true,
  },
  REDIS_PREFIX: { default: 'watchpost', parse: text(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_.:-]') },
  MIGRATE_ON_START: { default: 'true', parse: bool },
  WEBHOOK_ALLOW_PRIVATE_TARGETS: { default: 'false', parse: bool },
  LOG_LEVEL: { default: 'info', parse: oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace') },
  MAX_BODY_BYTES: { default: '10485760', parse: int(1024) },
  MAX_BODY_BYTES_IN_FLIGHT: { default: '16777216', parse: int(1024) },
  RATE_LIMIT_TELEMETRY_PER_MINUTE: { default: '1000', parse: int(0) },
  RATE_LIMIT_TELEMETRY_PER_HOUR: { default: '10000', parse: int(0) },
  RATE_LIMIT_PROJECT_PER_MINUTE: { default: '600', parse: int(0) },
  RATE_LIMIT_ADMIN_PER_MINUTE: { default: '0', parse: int(0) },
  RATE_LIMIT_READINGS_PER_MINUTE: { default: '1200000', parse: int(0) },
  SSE_MAX_STREAMS_PER_KEY: { default: '20', parse: int(0) },
  API_KEY_CACHE_TTL_SECONDS: { default: '30', parse: int(0, 3600) },
  RETENTION_DAYS: { default: '0', parse: int(0, 36500) },
  ROLLUP_METRICS_PER_PROJECT: { default: '1000', parse: int(0) },
  DB_POOL_SIZE: { default: '20', parse: int(1, 200) },
  WEBHOOK_CONNECT_TIMEOUT_MS: { default: '2000', parse: int(1) },
  WEBHOOK_TIMEOUT_MS: { default: '5000', parse: int(1) },
  WEBHOOK_RETRY_BASE_MS: { default: '5000', parse: int(1) },
  WEBHOOK_MAX_RETRIES: { default: '8', parse: int(0, 50) },
  CIRCUIT_FAILURE_THRESHOLD: { default: '5', parse: int(1) },
  CIRCUIT_RESET_TIMEOUT_MS: { default: '60000', parse: int(1) },
  WEBHOOK_SWEEP_INTERVAL_MS: { default: '15000', parse: int(100) },
  WEBHOOK_INLINE_FIRST_ATTEMPTS: { default: '64', parse: int(0, 1000) },
  METRICS_PORT: { default: '0', parse: int(0, 65535) },
  SHUTDOWN_GRACE_MS: { default: '25000', parse: int(0, 600000) },
  HEAP_GROWING_PERCENT: { default: '100', parse: int(0, 1000) },
  LOW_PRIORITY_LANES: { default: 'true', parse: bool },
  LOW_PRIORITY_NICE: { default: '15', parse: int(1, 19) },
  LOW_PRIORITY_IDLE_CLASS: { default: 'true', parse: bool },
  LOW_PRIORITY_BODY_BYTES: { default: '65536', parse: int(1024) },
  LOW_PRIORITY_LANE_TIMEOUT_MS: { default: '30000', parse: int(1000, 600000) },
  LANE: { default: 'none', parse: oneOf<Lane>('none', 'api', 'worker') },
} satisfies Record<string, VarSpec<unknown>>;

export type EnvName = keyof typeof ENV_SCHEMA;
export type Env = { [K in EnvName]: ReturnType<(typeof ENV_SCHEMA)[K]['parse']> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** One variable's value, or the problem with it: an empty variable is unset, and unset is its default. */
function readVar(name: EnvName, source: Record<string, string | undefined>): { value: unknown } | { problem: string } {
  const spec: VarSpec<unknown> = ENV_SCHEMA[name];
  const given = source[name];
  const raw = given === undefined || given === '' ? spec.default : given;
  if (raw === undefined) return { problem: `${name} is required` };
  try {
    return { value: spec.parse(raw) };
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    return { problem: `${name} ${err.message}${spec.secret ? '' : ` (got "${raw}")`}` };
  }
}

/** Parses every variable, collecting all problems so one start-up names them all. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(ENV_SCHEMA) as EnvName[]) {
    const read = readVar(name, source);
    if ('problem' in read) problems.push(read.problem);
    else out[name] = read.value;
  }
  if (problems.length) throw new ConfigError(problems);
  return out as Env;
}

/** One variable, read as parseEnv reads it: for a tool that needs a setting of the platform's, not a whole configuration. */
export function parseVar<K extends EnvName>(name: K, source: Record<string, string | undefined>): Env[K] {
  const read = readVar(name, source);
  if ('problem' in read) throw new ConfigError([read.problem]);
  return read.value as Env[K];
}
