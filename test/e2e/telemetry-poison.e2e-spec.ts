import Queue from 'bull';
import Redis from 'ioredis';
import type { Pool } from 'pg';
import { RunningApp, scrapeMetrics, startApp } from '../support/app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { ingestQueueIdle, openDb, waitFor } from '../support/telemetry';

/**
 * Issue 13: a poison row that got past validation (here: a job put on the run's ingest queue
 * directly, as a bug or an old api version could) costs only itself. The writer isolates the
 * rows Postgres refuses, stores the rest of the batch (and of the batches written with it),
 * and keeps each refused reading visibly: a failed_readings row with the reason, counted in
 * /metrics. The job completes instead of retrying for weeks.
 */
describe('the reading writer and a poison row', () => {
  let app: RunningApp;
  let db: Pool;
  let redis: Redis;
  let queue: Queue.Queue;
  let t: Tenant;

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
    redis = new Redis(process.env.REDIS_URL!);
    queue = new Queue('telemetry-ingest', process.env.REDIS_URL!, { prefix: process.env.REDIS_PREFIX });
    t = await createTenant(app);
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await db?.end();
    await app?.close();
  });

  const failedMetric = async () => (await scrapeMetrics(app))('watchpost_readings_failed_total', 0);

  it.each([
    ['a NUL character', { note: 'a\u0000b' }, /^22P05$/],
    ['a lone surrogate', { note: 'x\ud800y' }, /^22P02$/],
    ['a time Postgres cannot hold', null, /^22/],
  ])('stores the good readings of a batch with %s and keeps the bad one visibly', async (_label, poisonData, code) => {
    const device = await createDevice(t);
    const before = await failedMetric();
    const ts = (i: number) => new Date(Date.UTC(2026, 0, 8, 10, 0, i)).toISOString();
    const readings: { event_id: string; ts: string; data: Record<string, unknown> }[] = Array.from({ length: 40 }, (_, i) => ({ event_id: `good-${i}`, ts: ts(i), data: { v: i } }));
    const poison = poisonData ? { event_id: 'poison', ts: ts(59), data: poisonData } : { event_id: 'poison', ts: 'not a time', data: { v: 1 } };
    readings.splice(17, 0, poison);
    const job = await queue.add(
      'ingest',
      { orgId: t.orgId, projectId: t.projectId, deviceId: device.id, receivedAt: new Date().toISOString(), readings },
      { attempts: 3, backoff: { type: 'fixed', delay: 60_000 }, removeOnComplete: false, removeOnFail: false },
    );
    await waitFor(() => job.getState(), (s) => s === 'completed' || s === 'failed', { what: 'the crafted job to finish', timeoutMs: 60_000 });
    expect(await job.getState()).toBe('completed');

    const stored = await db.query(`SELECT event_id FROM readings WHERE device_id = $1 ORDER BY ts`, [device.id]);
    expect(stored.rows.map((r) => r.event_id)).toEqual(readings.filter((r) => r !== poison).map((r) => r.event_id));
    const failed = await db.query(`SELECT project_id, event, reason, code, received_at FROM failed_readings WHERE device_id = $1`, [device.id]);
    expect(failed.rows).toHaveLength(1);
    expect(failed.rows[0]).toMatchObject({ project_id: String(t.projectId), code: expect.stringMatching(code), reason: expect.any(String) });
    expect(failed.rows[0].reason.length).toBeGreaterThan(0);
    expect(JSON.parse(failed.rows[0].event)).toEqual(poison);
    expect(await failedMetric()).toBe(before + 1);
    // The good readings of the batch are evaluated and readable like any others.
    expect((await t.http.get(`/telemetry/devices/${device.id}/latest`)).body.event_id).toBe('good-39');
  });

  it('does not cost other jobs written in the same flush, and a retried job records nothing twice', async () => {
    const devices = await Promise.all([0, 1, 2].map(() => createDevice(t)));
    const jobs = await Promise.all(
      devices.map((d, k) =>
        queue.add('ingest', {
          orgId: t.orgId,
          projectId: t.projectId,
          deviceId: d.id,
          receivedAt: new Date().toISOString(),
          readings: Array.from({ length: 500 }, (_, i) => ({
            event_id: `e${i}`,
            ts: new Date(Date.UTC(2026, 0, 9, k, 0, 0, i)).toISOString(),
            data: k === 1 && i % 100 === 7 ? { s: '\u0000' } : { v: i },
          })),
        }),
      ),
    );
    await waitFor(() => ingestQueueIdle(redis), Boolean, { what: 'the ingest queue to drain', timeoutMs: 60_000 });
    for (const j of jobs) expect(await j.getState()).toBe('completed');
    const counts = await Promise.all(devices.map(async (d) => Number((await db.query('SELECT count(*) FROM readings WHERE device_id = $1', [d.id])).rows[0].count)));
    expect(counts).toEqual([500, 495, 500]);
    const failedOf = async () => Number((await db.query('SELECT count(*) FROM failed_readings WHERE device_id = $1', [devices[1].id])).rows[0].count);
    expect(await failedOf()).toBe(5);

    // The same batch again (a retry after a crash): nothing new stored, nothing recorded twice.
    const again = await queue.add('ingest', { ...(jobs[1].data as object) });
    await waitFor(() => again.getState(), (s) => s === 'completed' || s === 'failed', { what: 'the resent job', timeoutMs: 60_000 });
    expect(await again.getState()).toBe('completed');
    expect(await failedOf()).toBe(5);
  });
});
