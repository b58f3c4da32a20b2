import Redis from 'ioredis';
import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { countReadings, Event, ingestQueueIdle, openDb, waitFor, waitForReadings } from '../support/telemetry';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-07T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Issue 14: a reading is identified by (device, event_id) whatever its ts. A resend with
 * another ts (a device stamping at send time, a retry after a clock fix) is the same reading:
 * within one batch, across batches, across worker processes; retention and device deletion
 * remove identities together with their readings.
 */
describe('reading identity (device, event_id)', () => {
  let db: Pool;
  let redis: Redis;

  beforeAll(() => {
    db = openDb();
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    redis?.disconnect();
    await db?.end();
  });

  const drained = () => waitFor(() => ingestQueueIdle(redis), Boolean, { what: 'the ingest queue to drain', timeoutMs: 120_000 });
  const rowsOf = async (deviceId: number) =>
    (await db.query(`SELECT event_id, ts, payload FROM readings WHERE device_id = $1 ORDER BY event_id, ts`, [deviceId])).rows;
  const identities = async (deviceId: number) =>
    (await db.query(`SELECT event_id FROM reading_identities WHERE device_id = $1 ORDER BY event_id`, [deviceId])).rows.map((r) => r.event_id);

  describe('with one process', () => {
    let app: RunningApp;
    let t: Tenant;
    beforeAll(async () => {
      app = await startApp();
      t = await createTenant(app);
    });
    afterAll(() => app?.close());

    const post = (externalId: string, events: Event[], wait = false) =>
      t.http.post(`/telemetry${wait ? '?wait=true' : ''}`, { device_external_id: externalId, events });

    it('stores one reading for one event_id sent twice in one batch with different ts (wait=true and queued)', async () => {
      const device = await createDevice(t);
      const res = await post(
        device.external_id,
        [
          { ts: iso(T0), data: { v: 1 }, event_id: 'same' },
          { ts: iso(T0 + 5_000), data: { v: 2 }, event_id: 'same' },
          { ts: iso(T0 + 9_000), data: { v: 3 }, event_id: 'other' },
        ],
        true,
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        stored: 2,
        duplicates: 1,
        results: [
          { event_id: 'same', status: 'stored' },
          { event_id: 'same', status: 'duplicate' },
          { event_id: 'other', status: 'stored' },
        ],
      });
      // The first of the two is the reading.
      expect((await rowsOf(device.id)).map((r) => [r.event_id, r.payload.v])).toEqual([['other', 3], ['same', 1]]);

      const queued = await createDevice(t);
      const q = await post(queued.external_id, [1, 2, 3].map((k) => ({ ts: iso(T0 + k * 60_000), data: { v: k }, event_id: 'q' })));
      expect(q.status).toBe(202);
      await drained();
      expect((await rowsOf(queued.id)).map((r) => [r.event_id, r.payload.v])).toEqual([['q', 1]]);
    });

    it('answers duplicate for a resend with another ts, across batches, queued or waited for', async () => {
      const device = await createDevice(t);
      expect((await post(device.external_id, [{ ts: iso(T0), data: { v: 1 }, event_id: 'r1' }])).status).toBe(202);
      await waitForReadings(db, device.id, 1);
      const again = await post(device.external_id, [{ ts: iso(T0 + DAY), data: { v: 1 }, event_id: 'r1' }], true);
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ stored: 0, duplicates: 1, results: [{ event_id: 'r1', status: 'duplicate' }] });
      for (let k = 1; k <= 3; k++) {
        expect((await post(device.external_id, [{ ts: iso(T0 + k * 1000), data: { v: k }, event_id: 'r1' }])).status).toBe(202);
      }
      await drained();
      const rows = await rowsOf(device.id);
      expect(rows).toHaveLength(1);
      expect(rows[0].ts.toISOString()).toBe(iso(T0));
      expect(await countReadings(db, { deviceId: device.id })).toBe(1);
      // Another device may use the same event_id: identities are per device.
      const second = await createDevice(t);
      expect((await post(second.external_id, [{ ts: iso(T0 + 7), data: { v: 9 }, event_id: 'r1' }], true)).body.stored).toBe(1);
    });

    it('still derives the id of an event without event_id from ts and data', async () => {
      const device = await createDevice(t);
      const events = [{ ts: iso(T0), data: { v: 1 } }, { ts: iso(T0 + 1), data: { v: 1 } }, { ts: iso(T0), data: { v: 1 } }];
      const res = await post(device.external_id, events, true);
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['stored', 'stored', 'duplicate']);
      expect(await countReadings(db, { deviceId: device.id })).toBe(2);
    });

    it('removes identities with their device, so a new device may reuse nothing by accident', async () => {
      const device = await createDevice(t);
      expect((await post(device.external_id, [{ ts: iso(T0), data: { v: 1 }, event_id: 'gone' }], true)).status).toBe(201);
      expect(await identities(device.id)).toEqual(['gone']);
      expect((await t.http.delete(`/projects/${t.projectId}/devices/${device.id}`)).status).toBe(204);
      expect(await identities(device.id)).toEqual([]);
    });
  });

  it('stores one reading per event_id when two worker processes take resends with different ts', async () => {
    const api = await startApp({ ROLE: 'api' });
    const workers: SpawnedApp[] = [];
    try {
      const t = await createTenant(api);
      const device = await createDevice(t);
      // No worker yet: everything waits in Redis, then two workers race for it.
      const ids = 300;
      const sends = 12;
      for (let s = 0; s < sends; s++) {
        const events = Array.from({ length: ids }, (_, i) => ({ ts: iso(T0 + s * 3_600_000 + i * 1000), data: { v: i, send: s }, event_id: `w-${i}` }));
        const res = await t.http.post('/telemetry', { device_external_id: device.external_id, events });
        expect(res.status).toBe(202);
      }
      for (let w = 0; w < 2; w++) workers.push(await spawnApp({ ROLE: 'worker' }, 'dist/src/worker.js'));
      await drained();
      const { rows } = await db.query(
        `SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS ids FROM readings WHERE device_id = $1`,
        [device.id],
      );
      expect(rows[0]).toEqual({ total: ids, ids });
      expect((await identities(device.id)).length).toBe(ids);
    } finally {
      for (const w of workers) await w.stop();
      await api.close();
    }
  }, 300_000);

  it('drops the identities of the readings retention drops, and only those', async () => {
    let app = await startApp();
    const old = Date.now() - 5 * DAY;
    let t: Tenant;
    let device: { id: number; external_id: string };
    try {
      t = await createTenant(app);
      device = await createDevice(t);
      const events = [
        { ts: iso(old), data: { v: 1 }, event_id: 'old' },
        { ts: iso(Date.now()), data: { v: 2 }, event_id: 'recent' },
      ];
      expect((await t.http.post('/telemetry?wait=true', { device_external_id: device.external_id, events })).status).toBe(201);
      expect(await identities(device.id)).toEqual(['old', 'recent']);
    } finally {
      await app.close();
    }

    app = await startApp({ RETENTION_DAYS: '3' });
    try {
      await waitFor(() => identities(device.id), (ids) => ids.length === 1, { what: 'retention to drop the old identity', timeoutMs: 60_000 });
      expect(await identities(device.id)).toEqual(['recent']);
      expect((await rowsOf(device.id)).map((r) => r.event_id)).toEqual(['recent']);
      // Its identity gone with it, the old event is a new reading again; the recent one is not.
      const http = app.http.with({ 'X-API-Key': t.key });
      const res = await http.post('/telemetry?wait=true', {
        device_external_id: device.external_id,
        events: [
          { ts: iso(Date.now()), data: { v: 1 }, event_id: 'old' },
          { ts: iso(Date.now() - 1000), data: { v: 2 }, event_id: 'recent' },
        ],
      });
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['stored', 'duplicate']);
    } finally {
      await app.close();
    }
  }, 300_000);
});
