import Redis from 'ioredis';
import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { OwnRedis } from '../support/own-services';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant } from '../support/tenant';
import { countReadings, ingestQueueIdle, openDb, waitFor } from '../support/telemetry';

// This suite's own Redis servers (the shared one is never killed); see docs/durability.md.
const AOF_PORT = 6421;
const VOLATILE_PORT = 6422;
const OUTAGE_PORT = 6423;
const NO_CONFIG_PORT = 6426;
const BATCHES = 40;
const PER_BATCH = 250;
const TOTAL = BATCHES * PER_BATCH;

/**
 * DESIGN, Reliability: a Redis killed outright loses no acknowledged reading when it keeps
 * the queue in an append-only file; a Redis that does not is reported as `volatile`.
 */
describe('queue durability', () => {
  const servers: OwnRedis[] = [];
  const apps: SpawnedApp[] = [];
  let db: Pool;

  beforeAll(() => {
    db = openDb();
  });
  afterAll(async () => {
    for (const a of apps) await a.stop('SIGKILL').catch(() => undefined);
    for (const s of servers) await s.remove().catch(() => undefined);
    await db?.end();
  });

  const own = async (port: number, appendOnly: boolean, extraArgs: string[] = []) => {
    const s = new OwnRedis(port, appendOnly, extraArgs);
    servers.push(s);
    return s.start();
  };
  const api = async (redisUrl: string, env: Record<string, string> = {}): Promise<RunningApp> => {
    const app = await startApp({ ROLE: 'api', REDIS_URL: redisUrl, ...env });
    apps.push(app.proc);
    return app;
  };

  it(
    'a Redis with an append-only file, SIGKILLed with acknowledged readings waiting, loses none and doubles none',
    async () => {
      const redis = await own(AOF_PORT, true);
      const app = await api(redis.url);
      const ready = await app.http.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.queue_durability).toBe('durable');

      const t = await createTenant(app);
      const device = await createDevice(t);
      // No worker yet: every acknowledged batch waits in Redis.
      for (let b = 0; b < BATCHES; b++) {
        const events = Array.from({ length: PER_BATCH }, (_, i) => ({
          event_id: `b${b}-${i}`,
          ts: new Date(Date.UTC(2026, 0, 10) + (b * PER_BATCH + i) * 1000).toISOString(),
          data: { v: i },
        }));
        const res = await t.http.post('/telemetry', { device_external_id: device.external_id, events });
        expect(res.status).toBe(202);
      }
      expect(await countReadings(db, { deviceId: device.id })).toBe(0);

      await redis.kill('SIGKILL');
      await redis.start();
      // The api reconnects by itself.
      await waitFor(() => app.http.get('/health/ready').then((r) => r.status), (s) => s === 200, { what: 'the api to be ready again' });

      const worker = await spawnApp({ REDIS_URL: redis.url }, 'dist/src/worker.js');
      apps.push(worker);
      await waitFor(() => countReadings(db, { deviceId: device.id }), (n) => n >= TOTAL, {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: `all ${TOTAL} acknowledged readings`,
      });
      const probe = new Redis(redis.url);
      try {
        await waitFor(() => ingestQueueIdle(probe), Boolean, { timeoutMs: 30_000, what: 'the ingest queue to drain' });
      } finally {
        probe.disconnect();
      }
      const { rows } = await db.query(
        `SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct_events FROM readings WHERE device_id = $1`,
        [device.id],
      );
      expect(rows[0]).toEqual({ total: TOTAL, distinct_events: TOTAL });

      // Redis killed again under a running worker: api and worker reconnect by themselves.
      await redis.kill('SIGKILL');
      await redis.start();
      await waitFor(() => app.http.get('/health/ready').then((r) => r.status), (s) => s === 200, { what: 'the api to be ready again' });
      const after = await t.http.post('/telemetry', { device_external_id: device.external_id, events: [{ event_id: 'after', ts: '2026-02-01T00:00:00Z', data: { v: 1 } }] });
      expect(after.status).toBe(202);
      await waitFor(() => countReadings(db, { deviceId: device.id }), (n) => n === TOTAL + 1, { timeoutMs: 60_000, what: 'the reading sent after the second restart' });
    },
    300_000,
  );

  it(
    'readings the api stored itself while Redis was away are evaluated once it is back',
    async () => {
      const redis = await own(OUTAGE_PORT, true);
      const app = await api(redis.url);
      const t = await createTenant(app);
      const rule = { name: 'hot', metric: 'temperature', operator: '>', threshold: 50, window_n: 1, required_k: 1, cooldown_seconds: 0 };
      expect((await t.http.post(`/projects/${t.projectId}/rules`, rule)).status).toBe(201);
      const device = await createDevice(t);

      await redis.kill('SIGKILL');
      const res = await t.http.post('/telemetry', { device_external_id: device.external_id, events: [{ ts: '2026-03-01T00:00:00Z', data: { temperature: 90 } }] });
      expect(res.status).toBe(202);
      // Stored, and its evaluation owed: Redis could not take the job, Postgres keeps the mark.
      expect(await countReadings(db, { deviceId: device.id })).toBe(1);
      const marks = () => db.query(`SELECT count(*)::int AS n FROM evaluation_marks WHERE device_id = $1`, [device.id]).then((r) => r.rows[0].n);
      expect(await marks()).toBe(1);

      // The api goes too, so nothing it still holds for Redis (its offline queue) can help:
      // only the mark in Postgres tells the worker that the device is owed an evaluation.
      await app.proc.stop('SIGKILL');
      await redis.start();
      const worker = await spawnApp({ REDIS_URL: redis.url }, 'dist/src/worker.js');
      apps.push(worker);
      const alerts = () => db.query(`SELECT count(*)::int AS n FROM alerts WHERE device_id = $1`, [device.id]).then((r) => r.rows[0].n);
      await waitFor(alerts, (n) => n === 1, { timeoutMs: 60_000, intervalMs: 250, what: 'the alert of the reading stored while Redis was away' });
      await waitFor(marks, (n) => n === 0, { what: 'the mark to be cleared' });
    },
    180_000,
  );

  it('a Redis without an append-only file is reported volatile in /health/ready and warned about once at start', async () => {
    const redis = await own(VOLATILE_PORT, false);
    const app = await api(redis.url, { LOG_LEVEL: 'warn' });
    for (let i = 0; i < 3; i++) {
      const ready = await app.http.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.queue_durability).toBe('volatile');
    }
    expect(app.proc.output().match(/queue_durability=volatile/g)).toHaveLength(1);
  });

  it('a Redis that refuses CONFIG (as some managed services do) is reported unknown, and the platform carries on', async () => {
    const redis = await own(NO_CONFIG_PORT, true, ['--rename-command', 'CONFIG', '']);
    const app = await api(redis.url, { LOG_LEVEL: 'warn' });
    const ready = await app.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.queue_durability).toBe('unknown');
    expect(app.proc.output().match(/queue_durability=unknown/g)).toHaveLength(1);
    const t = await createTenant(app);
    const device = await createDevice(t);
    const res = await t.http.post('/telemetry', { device_external_id: device.external_id, events: [{ ts: '2026-03-02T00:00:00Z', data: { v: 1 } }] });
    expect(res.status).toBe(202);
  });
});
