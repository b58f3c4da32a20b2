import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { expectedBuckets, expectedStats, expectStatsEqual, Sent } from '../support/analytics';
import { Event, openDb, waitForReadings } from '../support/telemetry';

interface Bucket {
  start: string;
  count: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
}

/** Fixed past day, so buckets are deterministic (these readings land in the default partition). */
const START = Date.parse('2026-01-05T10:00:00Z');
const END = START + 2 * 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A seeded Park–Miller generator: the same readings every run. */
function generator(seed: number) {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

function expectBucketsEqual(actual: Bucket[], expected: ReturnType<typeof expectedBuckets>, intervalSeconds: number) {
  expect(actual.map((b) => b.start)).toEqual(expected.map((b) => b.start));
  actual.forEach((b, i) => {
    expect(Date.parse(b.start) % (intervalSeconds * 1000)).toBe(0);
    expect(b.count).toBe(expected[i].count);
    // Values are multiples of 0.25, so sums, minima and maxima are exact; an average may round.
    expect(b.sum).toBe(expected[i].sum);
    expect(b.min).toBe(expected[i].min);
    expect(b.max).toBe(expected[i].max);
    expect(b.avg).toBeCloseTo(expected[i].avg, 9);
  });
}

describe('telemetry aggregate and stats', () => {
  let app: RunningApp;
  let db: Pool;
  let t: Tenant;
  let west: { id: number; external_id: string };
  let east: { id: number; external_id: string };
  let foreignDevice: { id: number };
  const sent: Sent[] = [];

  async function send(tenant: Tenant, device: { id: number; external_id: string }, metric: string, points: { ms: number; value: unknown }[]) {
    const events: Event[] = points.map((p, i) => ({
      ts: iso(p.ms),
      data: p.value === undefined ? { other: 1 } : { [metric]: p.value, other: 1 },
      event_id: `${metric}-${device.id}-${i}`,
    }));
    const before = Number((await db.query('SELECT count(*)::int AS n FROM readings WHERE device_id = $1', [device.id])).rows[0].n);
    const res = await tenant.http.post('/telemetry', { device_external_id: device.external_id, events });
    expect(res.status).toBe(202);
    expect(res.body.rejected).toEqual([]);
    await waitForReadings(db, device.id, before + events.length);
  }

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
    t = await createTenant(app);
    west = await createDevice(t, { tags: ['agg-west'] });
    east = await createDevice(t, { tags: ['agg-east'] });

    const rand = generator(20260105);
    for (const device of [west, east]) {
      const points: { ms: number; value: unknown }[] = Array.from({ length: 180 }, () => ({
        ms: START + Math.floor(rand() * (END - START)),
        value: Math.round(rand() * 4000 - 2000) / 4,
      }));
      // Bucket edges: a reading exactly on a boundary opens the next bucket; one a millisecond before closes the last.
      points.push(
        { ms: START, value: 1.5 },
        { ms: START + 9_999, value: -2.25 },
        { ms: START + 10_000, value: 3 },
        { ms: START + 59_999, value: 4 },
        { ms: START + 60_000, value: -5 },
        { ms: START + 3600_000, value: 6.75 },
        { ms: START + 3599_999, value: 7 },
        { ms: END, value: 8 },
      );
      // Not numbers: ignored by aggregate and stats, yet stored.
      if (device === west) {
        points.push(
          { ms: START + 1000, value: '12.5' },
          { ms: START + 2000, value: true },
          { ms: START + 3000, value: null },
          { ms: START + 4000, value: { nested: 1 } },
          { ms: START + 5000, value: [1] },
          { ms: START + 6000, value: undefined },
        );
      }
      await send(t, device, 'temp', points);
      sent.push(...points.map((p) => ({ ...p, deviceId: device.id })));
    }

    // Another project's device, in the same window, must never count.
    const other = await createTenant(app);
    const foreign = await createDevice(other, { tags: ['agg-west'] });
    foreignDevice = foreign;
    await send(other, foreign, 'temp', [{ ms: START + 1234, value: 99999 }, { ms: START + 4321, value: -99999 }]);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  const query = (path: string, params: Record<string, string | number>) =>
    t.http.get(`${path}?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`);

  describe('aggregate', () => {
    it.each([
      ['10s', 10],
      ['1m', 60],
      ['1h', 3600],
    ])('buckets by %s from the epoch with count, sum, avg, min and max', async (interval, seconds) => {
      const res = await query('/telemetry/aggregate', { metric: 'temp', from: iso(START), to: iso(END), interval });
      expect(res.status).toBe(200);
      expect(res.body.metric).toBe('temp');
      expect(res.body.interval).toBe(interval);
      const expected = expectedBuckets(sent, seconds, START, END);
      expect(expected.length).toBeGreaterThan(1);
      expectBucketsEqual(res.body.buckets, expected, seconds);
    });

    it('aligns buckets to the epoch, not to from, and keeps only readings inside from..to', async () => {
      const from = START + 7_000;
      const to = START + 3600_000 - 1;
      const res = await query('/telemetry/aggregate', { metric: 'temp', from: iso(from), to: iso(to), interval: '1m' });
      expect(res.status).toBe(200);
      const expected = expectedBuckets(sent, 60, from, to);
      expect(res.body.buckets[0].start).toBe(iso(START));
      expectBucketsEqual(res.body.buckets, expected, 60);
    });

    it('takes from and to as Unix seconds too', async () => {
      const res = await query('/telemetry/aggregate', { metric: 'temp', from: START / 1000, to: END / 1000, interval: '1h' });
      expectBucketsEqual(res.body.buckets, expectedBuckets(sent, 3600, START, END), 3600);
    });

    it('filters by device_id and by tag', async () => {
      const byDevice = await query('/telemetry/aggregate', { metric: 'temp', from: iso(START), to: iso(END), interval: '1h', device_id: east.id });
      expectBucketsEqual(byDevice.body.buckets, expectedBuckets(sent, 3600, START, END, [east.id]), 3600);
      const byTag = await query('/telemetry/aggregate', { metric: 'temp', from: iso(START), to: iso(END), interval: '1h', tag: 'agg-west' });
      expectBucketsEqual(byTag.body.buckets, expectedBuckets(sent, 3600, START, END, [west.id]), 3600);
    });

    it('answers no buckets for an empty window or an unknown metric', async () => {
      const empty = await query('/telemetry/aggregate', { metric: 'temp', from: '2025-06-01T00:00:00Z', to: '2025-06-02T00:00:00Z', interval: '1h' });
      expect(empty.status).toBe(200);
      expect(empty.body.buckets).toEqual([]);
      const unknown = await query('/telemetry/aggregate', { metric: 'no_such_metric', from: iso(START), to: iso(END), interval: '1h' });
      expect(unknown.body.buckets).toEqual([]);
    });

    it.each(['5s', '2d', 'abc'])('refuses interval %s with 422 naming interval', async (interval) => {
      const res = await query('/telemetry/aggregate', { metric: 'temp', from: iso(START), to: iso(END), interval });
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'interval' })]);
    });

    it("answers 404 for another project's device_id", async () => {
      const res = await query('/telemetry/aggregate', { metric: 'temp', from: iso(START), to: iso(END), interval: '1h', device_id: foreignDevice.id });
      expect(res.status).toBe(404);
    });
  });

  describe('stats', () => {
    it('computes count, min, max, mean, nearest-rank p50/p95/p99 and unique_devices over two devices', async () => {
      const res = await query('/telemetry/stats', { metric: 'temp', from: iso(START), to: iso(END) });
      expect(res.status).toBe(200);
      const expected = expectedStats(sent, START, END);
      expect(expected.unique_devices).toBe(2);
      expectStatsEqual(res.body, expected);
    });

    it('honours from/to (inclusive), device_id and tag', async () => {
      const from = START + 60_000;
      const to = START + 3600_000;
      const ranged = await query('/telemetry/stats', { metric: 'temp', from: iso(from), to: iso(to) });
      expectStatsEqual(ranged.body, expectedStats(sent, from, to));
      const byDevice = await query('/telemetry/stats', { metric: 'temp', from: iso(START), to: iso(END), device_id: west.id });
      expectStatsEqual(byDevice.body, expectedStats(sent, START, END, [west.id]));
      expect(byDevice.body.unique_devices).toBe(1);
      const byTag = await query('/telemetry/stats', { metric: 'temp', from: iso(START), to: iso(END), tag: 'agg-east' });
      expectStatsEqual(byTag.body, expectedStats(sent, START, END, [east.id]));
    });

    it('answers count 0, unique_devices 0 and nulls for an empty window', async () => {
      const res = await query('/telemetry/stats', { metric: 'temp', from: '2025-06-01T00:00:00Z', to: '2025-06-02T00:00:00Z' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ count: 0, min: null, max: null, mean: null, p50: null, p95: null, p99: null, unique_devices: 0 });
    });

    it('describes a single reading by its value', async () => {
      const device = await createDevice(t);
      await send(t, device, 'solo', [{ ms: START + 42_000, value: 17.25 }]);
      const res = await query('/telemetry/stats', { metric: 'solo', from: iso(START), to: iso(END) });
      expect(res.body).toEqual({ count: 1, min: 17.25, max: 17.25, mean: 17.25, p50: 17.25, p95: 17.25, p99: 17.25, unique_devices: 1 });
      const agg = await query('/telemetry/aggregate', { metric: 'solo', from: iso(START), to: iso(END), interval: '10s' });
      expect(agg.body.buckets).toEqual([{ start: iso(START + 40_000), count: 1, sum: 17.25, avg: 17.25, min: 17.25, max: 17.25 }]);
    });

    it('handles negative values', async () => {
      const device = await createDevice(t);
      await send(t, device, 'neg', [-5, -1.5, -10, -0.25].map((value, i) => ({ ms: START + i * 1000, value })));
      const res = await query('/telemetry/stats', { metric: 'neg', from: iso(START), to: iso(END) });
      // Sorted: -10, -5, -1.5, -0.25; nearest rank p50 = index ceil(2)-1 = 1, p95 and p99 = index 3.
      expect(res.body).toEqual({ count: 4, min: -10, max: -0.25, mean: -4.1875, p50: -5, p95: -0.25, p99: -0.25, unique_devices: 1 });
      const agg = await query('/telemetry/aggregate', { metric: 'neg', from: iso(START), to: iso(END), interval: '1m' });
      expect(agg.body.buckets).toEqual([{ start: iso(START), count: 4, sum: -16.75, avg: -4.1875, min: -10, max: -0.25 }]);
    });

    it('ignores strings, booleans, null, objects and absent values', async () => {
      const device = await createDevice(t);
      const values = [3, '7', true, false, null, { v: 1 }, [2], undefined, 5];
      await send(t, device, 'mixed', values.map((value, i) => ({ ms: START + i * 1000, value })));
      const res = await query('/telemetry/stats', { metric: 'mixed', from: iso(START), to: iso(END) });
      expect(res.body).toEqual({ count: 2, min: 3, max: 5, mean: 4, p50: 3, p95: 5, p99: 5, unique_devices: 1 });
      const agg = await query('/telemetry/aggregate', { metric: 'mixed', from: iso(START), to: iso(END), interval: '1h' });
      expect(agg.body.buckets).toEqual([{ start: iso(START), count: 2, sum: 8, avg: 4, min: 3, max: 5 }]);
    });

    it('takes a window relative to now, but not together with from/to', async () => {
      const device = await createDevice(t);
      const now = Date.now();
      await send(t, device, 'recent_metric', [
        { ms: now - 60_000, value: 1 },
        { ms: now - 2 * 3600_000, value: 2 },
      ]);
      const five = await query('/telemetry/stats', { metric: 'recent_metric', window: '5m' });
      expect(five.body).toMatchObject({ count: 1, min: 1, max: 1 });
      const day = await query('/telemetry/stats', { metric: 'recent_metric', window: '24h' });
      expect(day.body).toMatchObject({ count: 2, min: 1, max: 2 });
      const both = await query('/telemetry/stats', { metric: 'recent_metric', window: '5m', from: iso(START) });
      expect(both.status).toBe(422);
      const bad = await query('/telemetry/stats', { metric: 'recent_metric', window: '2h' });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details).toEqual([expect.objectContaining({ field: 'window' })]);
    });

    it("answers 404 for another project's device_id, as for a missing one", async () => {
      const foreign = await query('/telemetry/stats', { metric: 'temp', from: iso(START), to: iso(END), device_id: foreignDevice.id });
      expect(foreign.status).toBe(404);
      const missing = await query('/telemetry/stats', { metric: 'temp', from: iso(START), to: iso(END), device_id: 987654321 });
      expect(missing.status).toBe(404);
      expect(foreign.body.error.code).toBe(missing.body.error.code);
    });
  });
});
