import Redis from 'ioredis';
import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { countReadings, Event, INGEST_QUEUES, ingestQueueIdle, openDb, waitFor } from '../support/telemetry';

const BATCHES = 20;
const PER_BATCH = 5000;
const TOTAL = BATCHES * PER_BATCH;
const START = Date.parse('2026-01-06T00:00:00Z');

/**
 * "A 202 is a promise": a worker killed with SIGKILL in the middle of writing loses no
 * acknowledged reading and, once another worker has retried its jobs, doubles none.
 * Bull hands a dead worker's jobs on only after their lock expires and two stalled checks
 * have seen them (lockDuration and stalledInterval, 30 s each by default), so this suite
 * takes about a minute longer than the work itself.
 */
describe('telemetry survives a worker killed mid-job', () => {
  let api: RunningApp;
  let db: Pool;
  let redis: Redis;
  let t: Tenant;
  const workers: SpawnedApp[] = [];

  beforeAll(async () => {
    api = await startApp({ ROLE: 'api' });
    db = openDb();
    redis = new Redis(process.env.REDIS_URL!);
    t = await createTenant(api);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    redis?.disconnect();
    await db?.end();
    await api?.close();
  });

  const failedJobs = async () => {
    let n = 0;
    for (const q of INGEST_QUEUES) n += await redis.zcard(`${process.env.REDIS_PREFIX}:${q}:failed`);
    return n;
  };

  it(
    `stores each of ${TOTAL} acknowledged readings exactly once`,
    async () => {
      const device = await createDevice(t);
      const failedBefore = await failedJobs();

      // With no worker running, every accepted batch waits in Redis.
      for (let b = 0; b < BATCHES; b++) {
        const events: Event[] = Array.from({ length: PER_BATCH }, (_, i) => ({
          ts: new Date(START + (b * PER_BATCH + i) * 1000).toISOString(),
          data: { v: i, batch: b },
          event_id: `b${b}-e${i}`,
        }));
        const res = await t.http.post('/telemetry', { device_external_id: device.external_id, events });
        expect(res.status).toBe(202);
        expect(res.body.queued).toBe(PER_BATCH);
      }

      const first = await spawnApp({}, 'dist/src/worker.js');
      workers.push(first);
      await waitFor(() => countReadings(db, { deviceId: device.id }), (n) => n > 0, {
        timeoutMs: 60_000,
        intervalMs: 5,
        what: 'the first worker to store some readings',
      });
      await first.stop('SIGKILL');
      const atKill = await countReadings(db, { deviceId: device.id });
      // The kill must land mid-way, else this test proves nothing.
      expect(atKill).toBeGreaterThan(0);
      expect(atKill).toBeLessThan(TOTAL);

      const second = await spawnApp({}, 'dist/src/worker.js');
      workers.push(second);
      await waitFor(() => countReadings(db, { deviceId: device.id }), (n) => n >= TOTAL, {
        timeoutMs: 150_000,
        intervalMs: 250,
        what: `all ${TOTAL} readings (${atKill} were stored when the first worker died)`,
      });
      await waitFor(() => ingestQueueIdle(redis), Boolean, { timeoutMs: 30_000, what: 'the ingest queue to drain' });

      const { rows } = await db.query(
        `SELECT count(*)::int AS total, count(DISTINCT (device_id, ts, event_id))::int AS distinct_identities,
                count(DISTINCT event_id)::int AS distinct_events
           FROM readings WHERE device_id = $1`,
        [device.id],
      );
      expect(rows[0]).toEqual({ total: TOTAL, distinct_identities: TOTAL, distinct_events: TOTAL });
      expect(await failedJobs()).toBe(failedBefore);

      const latest = await t.http.get(`/telemetry/devices/${device.id}/latest`);
      expect(latest.body.event_id).toBe(`b${BATCHES - 1}-e${PER_BATCH - 1}`);
    },
    300_000,
  );
});
