import Redis from 'ioredis';
import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { countReadings, Event, ingestQueueIdle, openDb, waitFor, waitForReadings } from '../support/telemetry';

/** A reading is stored once however often it is sent: DESIGN.md, Telemetry and Reliability. */
describe('telemetry idempotency', () => {
  let app: RunningApp;
  let db: Pool;
  let redis: Redis;
  let t: Tenant;

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
    redis = new Redis(process.env.REDIS_URL!);
    t = await createTenant(app);
  });
  afterAll(async () => {
    redis?.disconnect();
    await db?.end();
    await app?.close();
  });

  const post = (externalId: string, events: Event[], wait = false) =>
    t.http.post(`/telemetry${wait ? '?wait=true' : ''}`, { device_external_id: externalId, events });

  /** Rows per identity: any value above one is a doubled reading. */
  async function identities(deviceId: number): Promise<{ total: number; distinct: number }> {
    const { rows } = await db.query(
      `SELECT count(*)::int AS total, count(DISTINCT (device_id, ts, event_id))::int AS distinct
         FROM readings WHERE device_id = $1`,
      [deviceId],
    );
    return rows[0];
  }

  const drained = () => waitFor(() => ingestQueueIdle(redis), Boolean, { what: 'the ingest queue to drain' });

  const batch = (withIds: boolean): Event[] =>
    [10, 11, 12].map((s, i) => ({
      ts: `2026-01-05T10:00:${s}Z`,
      data: { temperature: 20 + i, unit: 'C' },
      ...(withIds ? { event_id: `evt-${i}` } : {}),
    }));

  it.each([
    ['with event_id', true],
    ['without event_id', false],
  ])('does not double rows when a batch %s is sent again', async (_label, withIds) => {
    const device = await createDevice(t);
    expect((await post(device.external_id, batch(withIds))).status).toBe(202);
    await waitForReadings(db, device.id, 3);

    for (let resend = 0; resend < 2; resend++) {
      const res = await post(device.external_id, batch(withIds));
      expect(res.status).toBe(202);
      expect(res.body.queued).toBe(3);
    }
    await drained();
    expect(await identities(device.id)).toEqual({ total: 3, distinct: 3 });
    const list = await t.http.get(`/telemetry/devices/${device.id}/telemetry`);
    expect(list.body.map((r: { payload: { temperature: number } }) => r.payload.temperature)).toEqual([22, 21, 20]);
  });

  it('treats one instant written as Z, with an offset or as Unix seconds as the same reading', async () => {
    const device = await createDevice(t);
    const data = { temperature: 30 };
    const spellings: (string | number)[] = ['2026-01-05T10:00:00Z', '2026-01-05T12:00:00+02:00', 1767607200, '2026-01-05T10:00:00'];
    for (const ts of spellings) {
      expect((await post(device.external_id, [{ ts, data }])).status).toBe(202);
      expect((await post(device.external_id, [{ ts, data, event_id: 'fixed-id' }])).status).toBe(202);
    }
    await drained();
    expect(await identities(device.id)).toEqual({ total: 2, distinct: 2 });
  });

  it('answers wait=true with 201, stored/duplicates/results, and the rows are already there', async () => {
    const device = await createDevice(t);
    const events = [...batch(true).slice(0, 2), { ts: '2026-01-05T10:00:20Z', data: { temperature: 40 } }];
    const res = await post(device.external_id, events, true);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      stored: 3,
      duplicates: 0,
      results: [
        { event_id: 'evt-0', status: 'stored' },
        { event_id: 'evt-1', status: 'stored' },
        { event_id: expect.stringMatching(/^h:/), status: 'stored' },
      ],
      rejected: [],
    });
    // Durable before the answer: no waiting for a queue.
    expect(await countReadings(db, { deviceId: device.id })).toBe(3);
    const latest = await t.http.get(`/telemetry/devices/${device.id}/latest`);
    expect(latest.body.event_id).toBe(res.body.results[2].event_id);

    const again = await post(device.external_id, events, true);
    expect(again.status).toBe(201);
    expect(again.body).toEqual({
      stored: 0,
      duplicates: 3,
      results: res.body.results.map((r: { event_id: string }) => ({ event_id: r.event_id, status: 'duplicate' })),
      rejected: [],
    });
    expect(await identities(device.id)).toEqual({ total: 3, distinct: 3 });
  });

  it('reports, with wait=true, which readings of a partly resent batch are new', async () => {
    const device = await createDevice(t);
    expect((await post(device.external_id, batch(true))).status).toBe(202);
    await waitForReadings(db, device.id, 3);

    const res = await post(
      device.external_id,
      [batch(true)[1], { ts: '2026-01-05T10:00:30Z', data: { temperature: 50 }, event_id: 'evt-new' }, { ts: 'bad', data: {} }],
      true,
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      stored: 1,
      duplicates: 1,
      results: [
        { event_id: 'evt-1', status: 'duplicate' },
        { event_id: 'evt-new', status: 'stored' },
      ],
      rejected: [{ index: 2, field: 'events[2].ts', error: expect.any(String) }],
    });
    expect(await identities(device.id)).toEqual({ total: 4, distinct: 4 });
  });

  it('stores two identical events of one batch once and reports the second as duplicate', async () => {
    const device = await createDevice(t);
    const same: Event = { ts: '2026-01-05T11:00:00Z', data: { temperature: 1 } };
    const named: Event = { ts: '2026-01-05T11:00:01Z', data: { temperature: 2 }, event_id: 'twice' };
    const res = await post(device.external_id, [same, named, same, named], true);
    expect(res.status).toBe(201);
    expect(res.body.stored).toBe(2);
    expect(res.body.duplicates).toBe(2);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['stored', 'stored', 'duplicate', 'duplicate']);
    expect(res.body.results[2].event_id).toBe(res.body.results[0].event_id);
    expect(await identities(device.id)).toEqual({ total: 2, distinct: 2 });
  });

  it('reports each reading stored exactly once among concurrent identical wait=true batches', async () => {
    const busy = await createDevice(t);
    // Large batches of another device in flight make the writer coalesce the identical
    // batches into one statement, where a shared insert must still count for one sender only.
    for (let round = 0; round < 3; round++) {
      const device = await createDevice(t);
      const events: Event[] = Array.from({ length: 300 }, (_, i) => ({ ts: 1767600000 + i, data: { v: i }, event_id: `c-${i}` }));
      const fillers = [0, 1, 2, 3].map((k) =>
        post(busy.external_id, Array.from({ length: 3000 }, (_, i) => ({ ts: 1767000000 + (round * 4 + k) * 10_000 + i, data: { v: i } })), true),
      );
      const answers = await Promise.all(Array.from({ length: 8 }, () => post(device.external_id, events, true)));
      for (const f of await Promise.all(fillers)) expect(f.status).toBe(201);

      expect(answers.every((a) => a.status === 201)).toBe(true);
      expect(answers.reduce((sum, a) => sum + a.body.stored, 0)).toBe(events.length);
      const storedBy = new Map<string, number>();
      for (const a of answers) {
        for (const r of a.body.results) if (r.status === 'stored') storedBy.set(r.event_id, (storedBy.get(r.event_id) ?? 0) + 1);
      }
      expect(storedBy.size).toBe(events.length);
      expect([...storedBy.values()].every((n) => n === 1)).toBe(true);
      expect(await identities(device.id)).toEqual({ total: events.length, distinct: events.length });
    }
  }, 120_000);

  it('stores two identical events of one queued batch once', async () => {
    const device = await createDevice(t);
    const same: Event = { ts: '2026-01-05T11:00:00Z', data: { temperature: 1 } };
    const res = await post(device.external_id, [same, same, { ...same, event_id: 'x' }, { ...same, event_id: 'x' }]);
    expect(res.status).toBe(202);
    await drained();
    expect(await identities(device.id)).toEqual({ total: 2, distinct: 2 });
  });
});
