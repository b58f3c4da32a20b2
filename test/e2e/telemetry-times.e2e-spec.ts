import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import type { HttpResponse } from '../support/http';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { Event, openDb, waitForReadings } from '../support/telemetry';

interface Reading {
  id: number;
  device_id: number;
  event_id: string;
  ts: string;
  received_at: string;
  payload: Record<string, unknown>;
}

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BASE = Date.parse('2026-01-05T10:00:00Z');
const at = (seconds: number) => new Date(BASE + seconds * 1000).toISOString();
const unix = (seconds: number) => BASE / 1000 + seconds;

/** Input times, output times, and the time-ranged reads. */
describe('telemetry times and reads', () => {
  let app: RunningApp;
  let db: Pool;
  let t: Tenant;

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
    t = await createTenant(app);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  /** Sends a batch through the queue and waits until the device holds `total` readings. */
  async function ingest(device: { id: number; external_id: string }, events: Event[], total = events.length): Promise<void> {
    const res = await t.http.post('/telemetry', { device_external_id: device.external_id, events });
    expect(res.status).toBe(202);
    expect(res.body.rejected).toEqual([]);
    await waitForReadings(db, device.id, total);
  }

  const readings = async (path: string): Promise<Reading[]> => {
    const res = await t.http.get(path);
    expect(res.status).toBe(200);
    return res.body;
  };

  describe('input times', () => {
    it.each<[string, string | number, string]>([
      ['a time without offset as UTC', '2026-01-05T10:00:00', '2026-01-05T10:00:00.000Z'],
      ['a time with a space and no seconds as UTC', '2026-01-05 10:00', '2026-01-05T10:00:00.000Z'],
      ['a +02:00 time converted to UTC', '2026-01-05T12:00:00+02:00', '2026-01-05T10:00:00.000Z'],
      ['a -05:30 time converted to UTC', '2026-01-05T04:30:00-05:30', '2026-01-05T10:00:00.000Z'],
      ['integer Unix seconds', 1767607200, '2026-01-05T10:00:00.000Z'],
      ['fractional Unix seconds', 1767607200.25, '2026-01-05T10:00:00.250Z'],
    ])('stores %s', async (_label, ts, expected) => {
      const device = await createDevice(t);
      await ingest(device, [{ ts, data: { v: 1 } }]);
      const [reading] = await readings(`/telemetry/devices/${device.id}/telemetry`);
      expect(reading.ts).toBe(expected);
    });

    it('rejects a time that names no real day instead of storing another one', async () => {
      const device = await createDevice(t);
      const res = await t.http.post('/telemetry', {
        device_external_id: device.external_id,
        events: [{ ts: '2026-02-30T10:00:00Z', data: { v: 1 } }, { ts: '2026-02-28T10:00:00Z', data: { v: 2 } }],
      });
      expect(res.status).toBe(202);
      expect(res.body.rejected).toEqual([{ index: 0, field: 'events[0].ts', error: expect.any(String) }]);
      await waitForReadings(db, device.id, 1);
      expect((await readings(`/telemetry/devices/${device.id}/telemetry`)).map((r) => r.ts)).toEqual(['2026-02-28T10:00:00.000Z']);
    });

    it('answers readings with ts and received_at as ISO-8601 UTC with Z', async () => {
      const device = await createDevice(t);
      const before = Date.now();
      await ingest(device, [{ ts: '2026-01-05T12:00:00.5+02:00', data: { v: 1 } }]);
      const [reading] = await readings(`/telemetry/devices/${device.id}/telemetry`);
      expect(reading.ts).toBe('2026-01-05T10:00:00.500Z');
      expect(reading.ts).toMatch(ISO_Z);
      expect(reading.received_at).toMatch(ISO_Z);
      // received_at is the server's arrival time, not the event time.
      expect(Date.parse(reading.received_at)).toBeGreaterThanOrEqual(before - 1000);
      for (const path of ['latest', 'telemetry/latest']) {
        const latest = await t.http.get(`/telemetry/devices/${device.id}/${path}`);
        expect(latest.body).toEqual(reading);
      }
    });
  });

  describe('recent readings', () => {
    let device: { id: number; external_id: string };
    // 21 readings, 3 of them sharing one ts: paging must break ties without gaps or repeats.
    const seconds = [...Array.from({ length: 18 }, (_, i) => i * 10), 95, 95, 95];

    beforeAll(async () => {
      device = await createDevice(t);
      await ingest(
        device,
        seconds.map((s, i) => ({ ts: at(s), data: { i }, event_id: `r-${i}` })),
      );
    });

    it('returns newest first and honours limit, with a cursor when more remain', async () => {
      const res = await t.http.get(`/telemetry/devices/${device.id}/telemetry?limit=5`);
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(5);
      expect(res.body.map((r: Reading) => r.ts)).toEqual([at(170), at(160), at(150), at(140), at(130)]);
      expect(res.headers.get('x-next-cursor')).toEqual(expect.any(String));

      const all = await t.http.get(`/telemetry/devices/${device.id}/telemetry`);
      expect(all.body).toHaveLength(21);
      expect(all.headers.get('x-next-cursor')).toBeNull();
    });

    it('honours from and to, both inclusive, as ISO or Unix seconds', async () => {
      const expected = [at(60), at(50), at(40)];
      const iso = await readings(`/telemetry/devices/${device.id}/telemetry?from=${at(40)}&to=${at(60)}`);
      expect(iso.map((r) => r.ts)).toEqual(expected);
      const secs = await readings(`/telemetry/devices/${device.id}/telemetry?from=${unix(40)}&to=${unix(60)}`);
      expect(secs.map((r) => r.ts)).toEqual(expected);
      const offset = encodeURIComponent('2026-01-05T12:00:40+02:00');
      const naive = '2026-01-05T10:01:00';
      const mixed = await readings(`/telemetry/devices/${device.id}/telemetry?from=${offset}&to=${naive}`);
      expect(mixed.map((r) => r.ts)).toEqual(expected);
      const onlyFrom = await readings(`/telemetry/devices/${device.id}/telemetry?from=${at(160)}`);
      expect(onlyFrom.map((r) => r.ts)).toEqual([at(170), at(160)]);
      const onlyTo = await readings(`/telemetry/devices/${device.id}/telemetry?to=${at(10)}`);
      expect(onlyTo.map((r) => r.ts)).toEqual([at(10), at(0)]);
    });

    it('refuses a bad range with 422 naming the field', async () => {
      const reversed = await t.http.get(`/telemetry/devices/${device.id}/telemetry?from=${at(60)}&to=${at(40)}`);
      expect(reversed.status).toBe(422);
      expect(reversed.body.error.details).toEqual([expect.objectContaining({ field: 'from' })]);
      const garbage = await t.http.get(`/telemetry/devices/${device.id}/telemetry?to=yesterday`);
      expect(garbage.status).toBe(422);
      expect(garbage.body.error.details).toEqual([expect.objectContaining({ field: 'to' })]);
    });

    async function walk(query: string): Promise<{ pages: Reading[][]; cursors: (string | null)[] }> {
      const pages: Reading[][] = [];
      const cursors: (string | null)[] = [];
      let cursor: string | null = null;
      do {
        const res: HttpResponse<Reading[]> = await t.http.get(`/telemetry/devices/${device.id}/telemetry?${query}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        pages.push(res.body);
        cursor = res.headers.get('x-next-cursor');
        cursors.push(cursor);
        if (pages.length > 30) throw new Error('paging does not end');
      } while (cursor);
      return { pages, cursors };
    }

    it('pages with the cursor through every reading once, newest first, across equal timestamps', async () => {
      const everything = await readings(`/telemetry/devices/${device.id}/telemetry?limit=1000`);
      for (const limit of [1, 2, 4, 7]) {
        const { pages } = await walk(`limit=${limit}`);
        const flat = pages.flat();
        expect(flat.map((r) => r.id)).toEqual(everything.map((r) => r.id));
        expect(new Set(flat.map((r) => r.event_id)).size).toBe(21);
        expect(pages.every((p) => p.length <= limit)).toBe(true);
        expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
      }
      // 21 readings in pages of 7: the last page is full and says no more remain.
      const { pages, cursors } = await walk('limit=7');
      expect(pages.map((p) => p.length)).toEqual([7, 7, 7]);
      expect(cursors[2]).toBeNull();
    });

    it('pages within a from/to range', async () => {
      const { pages } = await walk(`limit=2&from=${at(80)}&to=${at(110)}`);
      expect(pages.flat().map((r) => r.ts)).toEqual([at(110), at(100), at(95), at(95), at(95), at(90), at(80)]);
    });

    // Times before 1970 are refused (docs/hostile-input.md); the epoch's first seconds are the edge.
    it('pages through readings from the first seconds of 1970 with the cursors it issued', async () => {
      const old = await createDevice(t);
      const times = ['1970-01-01T00:00:00.000Z', '1970-01-01T00:00:00.001Z', '1970-01-01T00:00:00.999Z', '1970-01-01T00:00:01.000Z'];
      await ingest(old, times.map((ts, i) => ({ ts, data: { i } })));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: HttpResponse<Reading[]> = await t.http.get(`/telemetry/devices/${old.id}/telemetry?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...res.body.map((r: Reading) => r.ts));
        cursor = res.headers.get('x-next-cursor');
      } while (cursor && seen.length <= times.length);
      expect(seen).toEqual([...times].reverse());
    });

    it('refuses a cursor it did not issue with 422', async () => {
      const res = await t.http.get(`/telemetry/devices/${device.id}/telemetry?cursor=bm9wZQ`);
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'cursor' })]);
    });
  });

  describe('latest', () => {
    it('answers 404 on both paths when the device has no reading', async () => {
      const device = await createDevice(t);
      for (const path of ['latest', 'telemetry/latest']) {
        expect((await t.http.get(`/telemetry/devices/${device.id}/${path}`)).status).toBe(404);
      }
    });

    it('is the reading with the latest event time, not the last one to arrive', async () => {
      const device = await createDevice(t);
      await ingest(device, [{ ts: at(100), data: { v: 'new' }, event_id: 'newest' }]);
      await ingest(device, [{ ts: at(50), data: { v: 'late' }, event_id: 'late-arrival' }], 2);
      for (const path of ['latest', 'telemetry/latest']) {
        const res = await t.http.get(`/telemetry/devices/${device.id}/${path}`);
        expect(res.status).toBe(200);
        expect(res.body.event_id).toBe('newest');
      }
    });
  });

  describe('since', () => {
    let device: { id: number; external_id: string };

    beforeAll(async () => {
      device = await createDevice(t);
      await ingest(device, [0, 10, 20, 30].map((s) => ({ ts: at(s), data: { s }, event_id: `s-${s}` })));
    });

    it('returns only the readings strictly after since_ts, on both paths', async () => {
      for (const path of ['since', 'telemetry/since']) {
        const after = await readings(`/telemetry/devices/${device.id}/${path}?since_ts=${unix(10)}`);
        expect(after.map((r) => r.event_id).sort()).toEqual(['s-20', 's-30']);
        const between = await readings(`/telemetry/devices/${device.id}/${path}?since_ts=${unix(15.5)}`);
        expect(between.map((r) => r.event_id).sort()).toEqual(['s-20', 's-30']);
        expect(await readings(`/telemetry/devices/${device.id}/${path}?since_ts=${unix(30)}`)).toEqual([]);
        expect(await readings(`/telemetry/devices/${device.id}/${path}?since_ts=${unix(-1)}`)).toHaveLength(4);
      }
    });

    it('honours limit', async () => {
      const some = await readings(`/telemetry/devices/${device.id}/since?since_ts=${unix(-1)}&limit=2`);
      expect(some).toHaveLength(2);
    });

    it('refuses a missing or non-numeric since_ts with 422', async () => {
      for (const q of ['', '?since_ts=soon']) {
        const res = await t.http.get(`/telemetry/devices/${device.id}/since${q}`);
        expect(res.status).toBe(422);
        expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'since_ts' })]));
      }
    });
  });

  describe('tag search', () => {
    it("returns readings of the project's devices carrying the tag, and no others", async () => {
      const roof = await createDevice(t, { tags: ['roof-e2e'] });
      const roofNorth = await createDevice(t, { tags: ['north-e2e', 'roof-e2e'] });
      const plain = await createDevice(t, { tags: ['cellar-e2e'] });
      const other = await createTenant(app);
      const foreign = await createDevice(other, { tags: ['roof-e2e'] });
      await ingest(roof, [{ ts: at(1), data: { v: 1 }, event_id: 'roof-1' }]);
      await ingest(roofNorth, [{ ts: at(2), data: { v: 2 }, event_id: 'roofnorth-2' }, { ts: at(3), data: { v: 3 }, event_id: 'roofnorth-3' }]);
      await ingest(plain, [{ ts: at(4), data: { v: 4 }, event_id: 'plain-4' }]);
      const res = await other.http.post('/telemetry', { device_external_id: foreign.external_id, events: [{ ts: at(5), data: { v: 5 } }] });
      expect(res.status).toBe(202);
      await waitForReadings(db, foreign.id, 1);

      const tagged = await readings('/telemetry/search?tag=roof-e2e');
      expect(tagged.map((r) => r.event_id)).toEqual(['roofnorth-3', 'roofnorth-2', 'roof-1']);
      expect(new Set(tagged.map((r) => r.device_id))).toEqual(new Set([roof.id, roofNorth.id]));
      expect((await readings('/telemetry/search?tag=north-e2e')).map((r) => r.event_id)).toEqual(['roofnorth-3', 'roofnorth-2']);
      expect(await readings('/telemetry/search?tag=nobody-has-this')).toEqual([]);
      const ranged = await readings(`/telemetry/search?tag=roof-e2e&from=${at(2)}&to=${at(2)}`);
      expect(ranged.map((r) => r.event_id)).toEqual(['roofnorth-2']);
      expect(await readings('/telemetry/search?tag=roof-e2e&limit=1')).toHaveLength(1);
    });

    it('refuses a search without a tag with 422', async () => {
      const res = await t.http.get('/telemetry/search');
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'tag' })]));
    });
  });
});
