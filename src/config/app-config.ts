import { config as loadDotenv } from 'dotenv';
import { Env, parseEnv } from './env.schema';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Typed view of the validated environment, grouped by concern. */
export interface AppConfig {
  env: Env;
  port: number;
  role: Env['ROLE'];
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  adminToken: string;
  migrateOnStart: boolean;
  logLevel: Env['LOG_LEVEL'];
  /** Where a worker-only process serves /metrics (0: nowhere); api processes serve it on PORT. */
  metricsPort: number;
  /** How long a graceful shutdown waits for requests and jobs in flight before cutting them off. */
  shutdownGraceMs: number;
  /** V8's heap growing factor in % over the live data (0 = V8's own heuristic); see tuneHeap. */
  heapGrowingPercent: number;
  maxBodyBytes: number;
  /** Bytes of request bodies read and handled at once in the process (see BodyReader). */
  maxBodyBytesInFlight: number;
  dbPoolSize: number;
  /** Days of readings kept; 0 keeps everything. */
  retentionDays: number;
  /** Distinct metrics per project that get rollups (0 = every one); docs/analytics.md, "Which metrics have rollups". */
  rollupMetricsPerProject: number;
  apiKeyCacheTtlMs: number;
  rateLimits: {
    telemetryPerMinute: number;
    telemetryPerHour: number;
    projectPerMinute: number;
    adminPerMinute: number;
    /** Readings per project per minute, shared by every api process (0 = unlimited). */
    readingsPerMinute: number;
    /** Concurrent /alerts/stream connections per API key (0 = unlimited). */
    streamsPerKey: number;
  };
  /** Low-priority processes for large batches (docs/lanes.md). */
  lanes: {
    enabled: boolean;
    nice: number;
    /** The lanes' own threads also in the kernel's idle scheduling class (SCHED_IDLE). */
    idleClass: boolean;
    /** POST /telemetry bodies at least this long (or compressed, or of unknown length) go to the api's lane. */
    bodyBytes: number;
    /** A lane silent on its heartbeat this long is killed and restarted. */
    timeoutMs: number;
    /** The lane this process is, if it is one. */
    self: Env['LANE'];
  };
  webhooks: {
    allowPrivateTargets: boolean;
    connectTimeoutMs: number;
    timeoutMs: number;
    retryBaseMs: number;
    maxRetries: number;
    circuitFailureThreshold: number;
    circuitResetTimeoutMs: number;
    sweepIntervalMs: number;
    /** First attempts a worker makes itself at once (docs/webhooks.md, "The first attempt"); 0: every one is a queued job. */
    inlineFirstAttempts: number;
  };
}

export function buildConfig(env: Env): AppConfig {
  return {
    env,
    port: env.PORT,
    role: env.ROLE,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    adminToken: env.ADMIN_TOKEN,
    migrateOnStart: env.MIGRATE_ON_START,
    logLevel: env.LOG_LEVEL,
    metricsPort: env.METRICS_PORT,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    heapGrowingPercent: env.HEAP_GROWING_PERCENT,
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxBodyBytesInFlight: env.MAX_BODY_BYTES_IN_FLIGHT,
    dbPoolSize: env.DB_POOL_SIZE,
    retentionDays: env.RETENTION_DAYS,
    rollupMetricsPerProject: env.ROLLUP_METRICS_PER_PROJECT,
    apiKeyCacheTtlMs: env.API_KEY_CACHE_TTL_SECONDS * 1000,
    rateLimits: {
      telemetryPerMinute: env.RATE_LIMIT_TELEMETRY_PER_MINUTE,
      telemetryPerHour: env.RATE_LIMIT_TELEMETRY_PER_HOUR,
      projectPerMinute: env.RATE_LIMIT_PROJECT_PER_MINUTE,
      adminPerMinute: env.RATE_LIMIT_ADMIN_PER_MINUTE,
      readingsPerMinute: env.RATE_LIMIT_READINGS_PER_MINUTE,
      streamsPerKey: env.SSE_MAX_STREAMS_PER_KEY,
    },
    lanes: {
      enabled: env.LOW_PRIORITY_LANES,
      nice: env.LOW_PRIORITY_NICE,
      idleClass: env.LOW_PRIORITY_IDLE_CLASS,
      bodyBytes: env.LOW_PRIORITY_BODY_BYTES,
      timeoutMs: env.LOW_PRIORITY_LANE_TIMEOUT_MS,
      self: env.LANE,
    },
    webhooks: {
      allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      connectTimeoutMs: env.WEBHOOK_CONNECT_TIMEOUT_MS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
      maxRetries: env.WEBHOOK_MAX_RETRIES,
      circuitFailureThreshold: env.CIRCUIT_FAILURE_THRESHOLD,
      circuitResetTimeoutMs: env.CIRCUIT_RESET_TIMEOUT_MS,
      sweepIntervalMs: env.WEBHOOK_SWEEP_INTERVAL_MS,
      inlineFirstAttempts: env.WEBHOOK_INLINE_FIRST_ATTEMPTS,
    },
  };
}

/**
 * The environment of a lane (docs/lanes.md) of this process: the same settings, as the lane's
 * role, on a port of the kernel's choosing, without metrics port or migrations (its parent has
 * run them).
 */
export function laneEnvironment(lane: Exclude<Env['LANE'], 'none'>): NodeJS.ProcessEnv {
  return { ...process.env, LANE: lane, ROLE: lane, PORT: '0', METRICS_PORT: '0', MIGRATE_ON_START: 'false' };
}

/**
 * Reads the process environment (after `.env`, which never overrides a variable already set)
 * and validates it. `overrides` lets tests start an instance with other settings.
 */
export function loadConfig(overrides: Record<string, string | undefined> = {}): AppConfig {
  loadDotenv({ quiet: true });
  return buildConfig(parseEnv({ ...process.env, ...overrides }));
}
