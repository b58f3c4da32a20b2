import type { Redis } from 'ioredis';
import { Pool } from 'pg';

/** A pool on the run's database, for checks the API cannot make (row counts, duplicates). */
export function openDb(): Pool {
  return new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
}

export async function countReadings(db: Pool, where: { deviceId?: number; projectId?: number }): Promise<number> {
  const [column, value] = where.deviceId !== undefined ? ['device_id', where.deviceId] : ['project_id', where.projectId];
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM readings WHERE ${column} = $1`, [value]);
  return rows[0].n;
}

/**
 * Polls `probe` until `done` holds, returning the value that satisfied it. Queued work has no
 * completion signal a client can see, so tests watch for its effect instead of sleeping.
 */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await probe();
  }
  return last;
}

/** Waits until a device has exactly `n` readings, and fails if it ever holds more. */
export async function waitForReadings(db: Pool, deviceId: number, n: number, timeoutMs = 20_000): Promise<void> {
  const seen = await waitFor(() => countReadings(db, { deviceId }), (c) => c >= n, {
    timeoutMs,
    what: `${n} readings of device ${deviceId}`,
  });
  if (seen !== n) throw new Error(`device ${deviceId} has ${seen} readings, expected ${n}`);
}

export interface Event {
  ts: string | number;
  data: Record<string, unknown>;
  event_id?: string;
}

/** The ingest queues: small batches, and large ones (docs/ingest.md, "Fairness between projects"). */
export const INGEST_QUEUES = ['telemetry-ingest', 'telemetry-ingest-bulk'];

/** Whether the ingest queues hold no waiting, running or delayed job. */
export async function ingestQueueIdle(redis: Redis): Promise<boolean> {
  const keys = INGEST_QUEUES.map((q) => `${process.env.REDIS_PREFIX}:${q}`);
  // Bull counts job ids here: without it these are not the queues' keys and "empty" means nothing.
  if (!(await redis.exists(...keys.map((k) => `${k}:id`)))) throw new Error(`no Bull queue under ${keys.join(' or ')}`);
  const counts = await Promise.all(
    keys.flatMap((key) => [redis.llen(`${key}:wait`), redis.llen(`${key}:active`), redis.zcard(`${key}:delayed`), redis.llen(`${key}:paused`)]),
  );
  return counts.every((n) => n === 0);
}
