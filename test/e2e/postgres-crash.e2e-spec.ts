import { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { OwnPostgres } from '../support/own-services';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { waitFor } from '../support/telemetry';

/**
 * This suite's own Postgres cluster, crashed under the worker (the shared one never is). Its
 * WAL writer waits 10 s between background flushes (Postgres's longest), so a commit that did
 * not wait for its own flush is still in the WAL buffers when the cluster crashes a few
 * milliseconds later, and is lost, as it would be on any machine whose WAL writer had not
 * reached it yet.
 */
const PG = new OwnPostgres('watchpost_durable_crash', 5452, { wal_writer_delay: '10s' });
const ROUNDS = 4;
const READINGS = 20;

/**
 * DESIGN, Reliability: a 202 is a promise. The worker commits readings without waiting for
 * the disk, so they are visible at once, and acknowledges the job only after a commit barrier
 * (docs/ingest.md, "Visible first, durable before the job is acknowledged"). Here Postgres
 * crashes the moment a batch's readings become visible, before anything else commits: if the
 * job had been acknowledged then, the readings would be gone for good; they must come back
 * (the job runs again) and be stored once.
 */
describe('a Postgres crash right after readings became visible', () => {
  let api: RunningApp;
  let worker: SpawnedApp;
  let t: Tenant;

  beforeAll(async () => {
    await PG.create();
    const env = {
      DATABASE_URL: PG.url,
      MIGRATE_ON_START: 'true',
      REDIS_PREFIX: `${process.env.REDIS_PREFIX}:pg-crash`,
      LOG_LEVEL: 'error',
    };
    api = await startApp({ ...env, ROLE: 'api' });
    worker = await spawnApp({ ...env, ROLE: 'worker' }, 'dist/src/worker.js');
  });
  afterAll(async () => {
    await Promise.all([api?.close(), worker?.stop()].map((p) => p?.catch(() => undefined)));
    PG.drop();
  });

  /** A fresh connection each time: the previous one died with the cluster. */
  const count = async (deviceId: number, table: 'readings' | 'reading_identities') => {
    const c = new Client({ connectionString: PG.url });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const { rows } = await c.query(`SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct_ids FROM ${table} WHERE device_id = $1`, [deviceId]);
      return rows[0] as { total: number; distinct_ids: number };
    } catch {
      return { total: -1, distinct_ids: -1 };
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  it(
    'loses no acknowledged reading: each batch is stored once after recovery',
    async () => {
      t = await createTenant(api);
      const survivedTheCrash: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const device = await createDevice(t);
        const ts = Date.now() - 60_000;
        const events = Array.from({ length: READINGS }, (_, i) => ({ event_id: `r${round}-${i}`, ts: new Date(ts + i).toISOString(), data: { temperature: 20 + i } }));
        const res = await fetch(`${api.url}/telemetry`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'X-API-Key': t.key },
          body: JSON.stringify({ device_external_id: device.external_id, events }),
        });
        expect(res.status).toBe(202);

        // The moment the readings are visible to another session, the cluster crashes.
        await waitFor(() => count(device.id, 'reading_identities'), (c) => c.total === READINGS, { intervalMs: 2, timeoutMs: 30_000, what: 'the readings to be visible' });
        PG.crash();
        PG.start();
        await PG.waitUp();
        survivedTheCrash.push((await count(device.id, 'readings')).total);

        // The job was not acknowledged before its commit was on disk, so it runs again if the crash took it.
        const stored = await waitFor(() => count(device.id, 'readings'), (c) => c.total >= READINGS, { intervalMs: 250, timeoutMs: 60_000, what: `round ${round}'s ${READINGS} readings after recovery` });
        expect(stored).toEqual({ total: READINGS, distinct_ids: READINGS });
      }
      // Not asserted (it depends on how far the commit barrier got before the crash): how many of
      // each round's readings were on disk when the cluster came back, the rest stored by the retry.
      console.log(`readings on disk right after each crash (of ${READINGS}): ${survivedTheCrash.join(', ')}`);
    },
    5 * 60_000,
  );

  it(
    "a wait=true answer holds the reading and its arrival for no-data rules: both survive a crash right after it",
    async () => {
      t ??= await createTenant(api);
      const rule = await t.http.post(`/projects/${t.projectId}/rules`, { name: 'quiet', type: 'no_data', metric: null, no_data_seconds: 3600, cooldown_seconds: 0 });
      expect(rule.status).toBe(201);
      const device = await createDevice(t);
      const res = await fetch(`${api.url}/telemetry?wait=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-API-Key': t.key },
        body: JSON.stringify({ device_external_id: device.external_id, events: [{ event_id: 'arrival', ts: new Date().toISOString(), data: { temperature: 20 } }] }),
      });
      expect(res.status).toBe(201);
      // The reading and its arrival commit without waiting for their flush (docs/ingest.md,
      // docs/rules.md): the answer must have waited for a barrier, or the WAL writer's 10 s
      // would leave them in memory (the join finds neither).
      PG.crash();
      PG.start();
      await PG.waitUp();
      const c = new Client({ connectionString: PG.url });
      await c.connect();
      try {
        const { rows } = await c.query(
          `SELECT x.last_reading_at = r.received_at AS moved FROM rule_deadlines x JOIN readings r ON r.device_id = x.device_id WHERE x.rule_id = $1 AND x.device_id = $2`,
          [rule.body.id, device.id],
        );
        expect(rows).toEqual([{ moved: true }]);
      } finally {
        await c.end();
      }
    },
    2 * 60_000,
  );
});
