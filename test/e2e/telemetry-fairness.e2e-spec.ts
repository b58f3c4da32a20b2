import Redis from 'ioredis';
import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { countReadings, Event, openDb, waitFor } from '../support/telemetry';

/** Enough large batches that, in one shared queue, a later batch would wait for most of them. */
const A_BATCHES = 150;
/** Readings per batch of A's, five keys each: large (weight over 5,000, see batch-weight.ts). */
const A_PER_BATCH = 1000;
const A_TOTAL = A_BATCHES * A_PER_BATCH;
const START = Date.parse('2026-01-07T00:00:00Z');

/** A's batch number n: large (weight over 5,000, see batch-weight.ts). */
const aEvents = (n: number): Event[] =>
  Array.from({ length: A_PER_BATCH }, (_, i) => ({
    ts: new Date(START + (n * A_PER_BATCH + i) * 1000).toISOString(),
    data: { v: i, batch: n, a: 1, b: 2, c: 3 },
    event_id: `a${n}-${i}`,
  }));

/**
 * Fairness between projects at the ingest queue (docs/ingest.md, "Fairness between projects"):
 * another project's one-reading batch is not queued behind a backlog of large batches. With
 * no worker running, project A queues 150 large batches and then project B one reading; a
 * worker then starts. B's reading must be stored while most of A's backlog still waits: in
 * one first-in-first-out queue it would come after at least 86 of A's 150 batches (the worker
 * takes 64 at a time).
 */
describe('a small batch is not queued behind another project’s large ones', () => {
  let api: RunningApp;
  let db: Pool;
  let a: Tenant;
  let b: Tenant;
  let worker: SpawnedApp | undefined;

  beforeAll(async () => {
    api = await startApp({ ROLE: 'api' });
    db = openDb();
    a = await createTenant(api);
    b = await createTenant(api);
  });
  afterAll(async () => {
    await worker?.stop();
    await db?.end();
    await api?.close();
  });

  it(
    'stores B’s reading before most of A’s earlier backlog',
    async () => {
      const [deviceA, deviceB] = [await createDevice(a), await createDevice(b)];
      for (let n = 0; n < A_BATCHES; n++) {
        expect((await a.http.post('/telemetry', { device_external_id: deviceA.external_id, events: aEvents(n) })).status).toBe(202);
      }
      // A's batches wait in Redis deflated (ingest-readings.job.ts): a fifth of their JSON, and
      // of the bytes Redis copies for every queue operation on them.
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        const keys = await redis.lrange(`${process.env.REDIS_PREFIX}:telemetry-ingest-bulk:wait`, 0, -1);
        expect(keys).toHaveLength(A_BATCHES);
        const data = await Promise.all(keys.map((id) => redis.hget(`${process.env.REDIS_PREFIX}:telemetry-ingest-bulk:${id}`, 'data')));
        const held = data.reduce((n, d) => n + Buffer.byteLength(d!), 0);
        const sent = A_BATCHES * Buffer.byteLength(JSON.stringify(aEvents(0)));
        process.stdout.write(`A's ${A_BATCHES} batches: ${sent} bytes of events sent, ${held} bytes of job data in Redis\n`);
        expect(data.map((d) => JSON.parse(d!)).every((job) => !('readings' in job) && typeof job.deflated === 'string')).toBe(true);
        expect(held).toBeLessThan(sent / 4);
      } finally {
        redis.disconnect();
      }
      const probe = { device_external_id: deviceB.external_id, events: [{ ts: new Date(START).toISOString(), data: { temp: 21 }, event_id: 'b-probe' }] };
      expect((await b.http.post('/telemetry', probe)).status).toBe(202);

      worker = await spawnApp({}, 'dist/src/worker.js');
      await waitFor(() => countReadings(db, { deviceId: deviceB.id }), (n) => n === 1, { timeoutMs: 120_000, intervalMs: 5, what: 'B’s reading' });
      const aStored = await countReadings(db, { deviceId: deviceA.id });
      process.stdout.write(`B's reading stored when ${aStored} of A's ${A_TOTAL} earlier readings were\n`);
      expect(aStored).toBeLessThan(A_TOTAL / 3);

      // And A's backlog is all stored in the end.
      await waitFor(() => countReadings(db, { deviceId: deviceA.id }), (n) => n === A_TOTAL, { timeoutMs: 180_000, intervalMs: 250, what: 'all of A’s readings' });
      // Inflated as they were sent.
      const sample = await db.query(`SELECT event_id, payload FROM readings WHERE device_id = $1 AND event_id IN ('a0-0', 'a149-999') ORDER BY event_id`, [deviceA.id]);
      expect(sample.rows).toEqual([
        { event_id: 'a0-0', payload: aEvents(0)[0].data },
        { event_id: 'a149-999', payload: aEvents(149)[999].data },
      ]);
    },
    360_000,
  );
});
