import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { expectedBuckets, expectedStats, Sent } from '../support/analytics';
import { openDb } from '../support/telemetry';

/**
 * Project-wide aggregate and stats read minute and hour rollups; these tests change the
 * readings under rollups that were already built and check that every answer still equals
 * what the readings say: late readings, several metrics, writers racing the rebuilds, and a
 * deleted device.
 */

const HOUR = 3_600_000;
/** A fixed past hour, so the rollups of its whole hours are built by the first query. */
const START = Date.parse('2026-02-10T06:00:00Z');
const END = START + 3 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

describe('project-wide analytics over rollups', () => {
  let app: RunningApp;
  let db: Pool;

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  /** A tenant with `devices` devices and what it has stored, per metric. */
  async function setup(devices: number) {
    const t = await createTenant(app);
    const devs = await Promise.all(Array.from({ length: devices }, () => createDevice(t)));
    const stored: Record<string, Sent[]> = {};
    let seq = 0;
    /** Stores readings durably (wait=true), each with the given metrics' values. */
    const send = async (device: { id: number; external_id: string }, points: { ms: number; data: Record<string, number> }[]) => {
      const events = points.map((p) => ({ ts: iso(p.ms), data: p.data, event_id: `e${seq++}` }));
      const res = await t.http.post('/telemetry?wait=true', { device_external_id: device.external_id, events });
      expect(res.status).toBe(201);
      for (const p of points) for (const [metric, value] of Object.entries(p.data)) (stored[metric] ??= []).push({ deviceId: device.id, ms: p.ms, value });
    };
    const stats = async (metric: string, from: number, to: number) => {
      const res = await t.http.get(`/telemetry/stats?metric=${metric}&from=${iso(from)}&to=${iso(to)}`);
      expect(res.status).toBe(200);
      return res.body;
    };
    const aggregate = async (metric: string, interval: string, from: number, to: number) => {
      const res = await t.http.get(`/telemetry/aggregate?metric=${metric}&interval=${interval}&from=${iso(from)}&to=${iso(to)}`);
      expect(res.status).toBe(200);
      return res.body.buckets;
    };
    const rollupRows = async () =>
      Number((await db.query('SELECT count(*) FROM metric_rollups WHERE project_id = $1', [t.projectId])).rows[0].count);
    return { t, devs, stored, send, stats, aggregate, rollupRows };
  }

  /** Values are multiples of 0.5, so every sum is exact and answers compare with toEqual. */
  const spread = (n: number, from: number, span: number, salt: number) =>
    Array.from({ length: n }, (_, i) => ({ ms: from + ((i * 7_919_993 + salt * 104_729) % span), v: ((i * 37 + salt * 11) % 200) / 2 - 40 }));

  it('builds rollups on the first project-wide query, and answers exactly as the readings say at every edge', async () => {
    const { devs, stored, send, stats, aggregate, rollupRows } = await setup(3);
    for (const [k, d] of devs.entries()) {
      await send(d, spread(300, START, 3 * HOUR, k).map((p) => ({ ms: p.ms, data: { temp: p.v } })));
    }
    // Readings on the edges of minutes and hours.
    await send(devs[0], [START, START + 59_999, START + 60_000, START + HOUR - 1, START + HOUR, END].map((ms, i) => ({ ms, data: { temp: i } })));
    expect(await rollupRows()).toBe(0);

    expect(await stats('temp', START, END)).toEqual(expectedStats(stored.temp, START, END));
    expect(await rollupRows()).toBeGreaterThan(3);
    // Ranges that start and end inside minutes and hours: rollups in the middle, readings at the ends.
    for (const [from, to] of [
      [START + 1, END - 1],
      [START + 59_999, START + HOUR],
      [START + 30_500, START + 2 * HOUR + 45_250],
      [START + HOUR - 1, START + HOUR + 59_999],
      [START + 10_000, START + 20_000],
      // Within one hour: its devices come from minute rows.
      [START + 30_500, START + 40 * 60_000 + 250],
      [START + HOUR + 1, START + 2 * HOUR - 1],
    ]) {
      expect(await stats('temp', from, to)).toEqual(expectedStats(stored.temp, from, to));
      for (const [interval, seconds] of [['1m', 60], ['5m', 300], ['1h', 3600], ['1d', 86_400], ['10s', 10]] as const) {
        expect(await aggregate('temp', interval, from, to)).toEqual(expectedBuckets(stored.temp, seconds, from, to));
      }
    }
  });

  it('answers exactly when the range starts or ends inside a minute, whichever part of the minute it reads', async () => {
    const { devs, stored, send, stats, aggregate } = await setup(3);
    const m = START + HOUR + 7 * 60_000;
    const n = START + 2 * HOUR + 11 * 60_000;
    await send(devs[0], [
      ...spread(40, START, 3 * HOUR, 9).map((p) => ({ ms: p.ms, data: { temp: p.v } })),
      { ms: m + 40_000, data: { temp: 71 } },
      { ms: m + 50_000, data: { temp: 72 } },
      { ms: n + 5_000, data: { temp: 81 } },
    ]);
    await send(devs[1], [{ ms: n + 20_000, data: { temp: 82 } }]);
    // Readings only the rest of an edge minute holds, one from a device with no other there.
    await send(devs[2], [{ ms: m + 5_000, data: { temp: -70 } }, { ms: n + 50_000, data: { temp: 183 } }]);
    // from inside minute m, to inside minute n: before, between and after those minutes'
    // readings. Under half a minute in range is read as readings; more, as the minute's
    // rollup less the readings of the rest of it.
    for (const from of [m + 1, m + 10_000, m + 40_000, m + 45_000, m + 50_000, m + 55_000]) {
      for (const to of [n + 4_999, n + 5_000, n + 10_000, n + 20_000, n + 45_000, n + 59_999]) {
        expect([from - m, to - n, await stats('temp', from, to)]).toEqual([from - m, to - n, expectedStats(stored.temp, from, to)]);
        expect(await aggregate('temp', '1m', from, to)).toEqual(expectedBuckets(stored.temp, 60, from, to));
      }
    }
  });

  it('counts a reading that arrives late into an hour whose rollups exist, for that metric and no other', async () => {
    const { devs, stored, send, stats, aggregate } = await setup(2);
    await send(devs[0], spread(120, START, 2 * HOUR, 1).map((p) => ({ ms: p.ms, data: { temp: p.v, hum: p.v + 100 } })));
    expect(await stats('temp', START, END)).toEqual(expectedStats(stored.temp, START, END));
    expect(await stats('hum', START, END)).toEqual(expectedStats(stored.hum, START, END));

    // Late readings of both metrics into the hours already rolled up, by a device new to them.
    await send(devs[1], [{ ms: START + 15 * 60_000, data: { temp: 1000, hum: -1000 } }, { ms: START + HOUR + 5, data: { temp: -1000, hum: 1000 } }]);
    // Asking for hum first must not spend the mark temp still needs.
    const hum = await stats('hum', START, END);
    expect(hum).toEqual(expectedStats(stored.hum, START, END));
    expect(hum).toMatchObject({ min: -1000, max: 1000, unique_devices: 2 });
    const temp = await stats('temp', START, END);
    expect(temp).toEqual(expectedStats(stored.temp, START, END));
    expect(temp).toMatchObject({ min: -1000, max: 1000, unique_devices: 2 });
    expect(await aggregate('temp', '1h', START, END)).toEqual(expectedBuckets(stored.temp, 3600, START, END));

    // A late batch across many minutes of one hour marks the hour as a whole.
    await send(devs[1], Array.from({ length: 12 }, (_, i) => ({ ms: START + HOUR + i * 5 * 60_000 + 777, data: { temp: 2000 + i } })));
    expect(await stats('temp', START, END)).toEqual(expectedStats(stored.temp, START, END));
    expect(await aggregate('temp', '1m', START, END)).toEqual(expectedBuckets(stored.temp, 60, START, END));
  });

  it('counts every reading exactly once while writers race the rebuilds and deltas', async () => {
    const { devs, stored, send, stats, aggregate } = await setup(4);
    await send(devs[0], spread(50, START, HOUR, 2).map((p) => ({ ms: p.ms, data: { temp: p.v } })));
    // Four writers keep adding readings to the same hour while queries bring its rollups up to
    // date: two send batches across the hour (the hour gets rebuilt from the readings), two send
    // a few readings in one minute (they add deltas), so rebuilds and deltas race.
    let writing = true;
    const writers = devs.map(async (d, k) => {
      for (let round = 0; writing || round < 3; round++) {
        const salt = 100 + k * 50 + round;
        const points =
          k % 2 === 0
            ? spread(20, START, HOUR, salt)
            : spread(3, START + (salt % 60) * 60_000, 60_000, salt);
        await send(d, points.map((p) => ({ ms: p.ms, data: { temp: p.v } })));
      }
    });
    const answers: { count: number }[] = [];
    for (let i = 0; i < 15; i++) answers.push(await stats('temp', START, START + HOUR - 1));
    writing = false;
    await Promise.all(writers);
    // Counts seen while writing only grow; after the last commit the answer is exact.
    for (let i = 1; i < answers.length; i++) expect(answers[i].count).toBeGreaterThanOrEqual(answers[i - 1].count);
    expect(await stats('temp', START, START + HOUR - 1)).toEqual(expectedStats(stored.temp, START, START + HOUR - 1));
    expect(await aggregate('temp', '1m', START, START + HOUR - 1)).toEqual(expectedBuckets(stored.temp, 60, START, START + HOUR - 1));
  });

  it('keeps answering the same while readings keep arriving just outside the range, in its last minute', async () => {
    const { devs, stored, send, stats, aggregate } = await setup(2);
    await send(devs[0], spread(200, START, HOUR, 4).map((p) => ({ ms: p.ms, data: { temp: p.v } })));
    // The range ends 45 s into a minute: that minute is read as its rollup less its last 15 s,
    // where another device keeps writing.
    const to = START + 30 * 60_000 + 45_000;
    const expected = expectedStats(stored.temp, START, to);
    const buckets = expectedBuckets(stored.temp, 60, START, to);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await send(devs[1], [{ ms: to + 1 + (i % 14_000), data: { temp: 5000 + i } }]);
    })();
    try {
      for (let i = 0; i < 20; i++) {
        expect(await stats('temp', START, to)).toEqual(expected);
        expect(await aggregate('temp', '1m', START, to)).toEqual(buckets);
      }
    } finally {
      writing = false;
      await writer;
    }
  });

  it('answers many concurrent queries of one project while its rollups have changes waiting', async () => {
    const { devs, stored, send, stats, aggregate } = await setup(2);
    await send(devs[0], spread(100, START, HOUR, 5).map((p) => ({ ms: p.ms, data: { temp: p.v } })));
    for (let round = 0; round < 3; round++) {
      // A few readings (a delta) wait for every query below; they line up behind one catch-up.
      await send(devs[1], [{ ms: START + round * 60_000 + 5, data: { temp: 100 + round } }]);
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          i % 2 ? stats('temp', START + 1, START + HOUR - 1) : aggregate('temp', '1h', START, START + HOUR - 1),
        ),
      );
      const expected = expectedStats(stored.temp, START + 1, START + HOUR - 1);
      for (const [i, a] of answers.entries()) {
        expect(a).toEqual(i % 2 ? expected : expectedBuckets(stored.temp, 3600, START, START + HOUR - 1));
      }
    }
  });

  it("forgets a deleted device's readings", async () => {
    const { t, devs, stored, send, stats } = await setup(2);
    await send(devs[0], spread(60, START, 2 * HOUR, 3).map((p) => ({ ms: p.ms, data: { temp: p.v } })));
    await send(devs[1], [{ ms: START + HOUR + 1234, data: { temp: 5000 } }]);
    expect(await stats('temp', START, END)).toMatchObject({ max: 5000, unique_devices: 2 });

    const res = await t.http.delete(`/projects/${t.projectId}/devices/${devs[1].id}`);
    expect(res.status).toBe(204);
    const left = stored.temp.filter((p) => p.deviceId !== devs[1].id);
    const after = await stats('temp', START, END);
    expect(after).toEqual(expectedStats(left, START, END));
    expect(after).toMatchObject({ unique_devices: 1 });
  });
});
