/**
 * The one list of Postgres advisory-lock keys. Every number is arbitrary but must never change
 * or collide: migration triggers and functions (which are never edited) spell some of them
 * literally, and advisory-locks.spec.ts checks that those literals match this list.
 *
 * One-key locks take `pg_advisory_*(key)`; namespaces take `pg_advisory_*(namespace, id::int)`.
 */
export const ADVISORY_LOCKS = {
  /** Session lock serialising migration runs across processes (core/database/migrate.ts). */
  migrations: 727_001,
  /** Creating a day's reading partition (`ensure_readings_partition`, migration 1764000000001). */
  readingPartitions: 727_002,
  /** Namespace of the per-device evaluation locks (two-key form: namespace, device). */
  deviceEvaluation: 727_010,
  /**
   * Namespace of the per-project rollup rebuild locks (two-key form: namespace, project); the
   * device-delete trigger of migration 1764000000004 takes it too.
   */
  projectRollups: 727_020,
  /** Rollup rebuilds hold it shared; retention and mark compaction hold it alone (one-key form). */
  allProjectRollups: 727_021,
  /** Namespace of the per-project locks admitting metrics to rollups (two-key form: namespace, project). */
  rollupMetrics: 727_022,
} as const;
