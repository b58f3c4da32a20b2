import { DataSource } from 'typeorm';
import { RollupFreshnessRepository } from '../../src/modules/analytics/freshness/rollup-freshness.repository';
import type { Bucket, Stats } from '../../src/modules/analytics/query/answers';
import { ReadingQueriesRepository } from '../../src/modules/analytics/query/reading-queries.repository';
import { RollupQueriesRepository } from '../../src/modules/analytics/query/rollup-queries.repository';
import { planRollups } from '../../src/modules/analytics/rollup-plan';
import type { ReadingRow } from '../../src/modules/telemetry/reading-row';
import { ReadingsRepository } from '../../src/modules/telemetry/readings.repository';
import { expectedBuckets, expectedStats, Sent } from '../support/analytics';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

const M = 60_000;
const H = 3_600_000;
/** Event times of this suite: hours no other suite of the run writes (see docs/testing.md). */
const BASE = Date.parse('2025-04-10T10:00:00Z');

const buckets = (rows: Bucket[]) =>
  rows.map((b) => ({ start: new Date(b.start).toISOString(), count: Number(b.count), sum: b.sum, avg: b.avg, min: b.min, max: b.max }));
const stats = (s: Stats) => ({ ...s, count: Number(s.count), unique_devices: Number(s.unique_devices) });

/**
 * The query half of analytics: aggregate and stats give the answers the readings give, from
 * rollups project-wide (hour rows, minute rows and the partial minutes at either end) and from
 * the readings by device or tag.
 */
describe('analytics queries (real Postgres)', () => {
  let ds: DataSource;
  let rollups: RollupQueriesRepository;
  let freshness: RollupFreshnessRepository;
  let byReadings: ReadingQueriesRepository;
  let t: RepoTenant;
  const sent: Sent[] = [];

  beforeAll(async () => {
    ds = await openDataSource();
    freshness = new RollupFreshnessRepository(ds);
    rollups = new RollupQueriesRepository(freshness);
    byReadings = new ReadingQueriesRepository(ds);
    // The fifth device reports only in a backfill.
    t = await makeTenant(ds, 5);
    await ds.query(`UPDATE devices SET tags = ARRAY['roof'] WHERE id = ANY($1::bigint[])`, [t.devices.slice(0, 2)]);
    // Three hours of readings, every 10 s from one of four devices, values in quarters (exact sums).
    const rows: ReadingRow[] = [];
    for (let ms = BASE, k = 0; ms < BASE + 3 * H; ms += 10_000, k++) {
      const deviceId = t.devices[k % 4];
      const value = ((k * 37) % 41) / 4;
      rows.push({ projectId: t.projectId, deviceId, eventId: `q${k}`, ts: new Date(ms).toISOString(), receivedAt: new Date(ms).toISOString(), data: { temp: value, note: 'n' } });
      sent.push({ deviceId, ms, value });
    }
    const writer = new ReadingsRepository(ds);
    for (let i = 0; i < rows.length; i += 200) await writer.insertMany(rows.slice(i, i + 200), 'count');
  });
  afterAll(() => ds?.destroy());

  const ranges: [string, number, number][] = [
    ['whole hours', BASE, BASE + 3 * H - 1],
    ['partial minutes at both ends, across hours', BASE + 17 * M + 12_345, BASE + 2 * H + 41 * M + 3_210],
    ['a long first edge (the minute row less the rest)', BASE + 59 * M + 5_000, BASE + 2 * H + 30 * M],
    ['within one hour', BASE + H + 5 * M + 30_000, BASE + H + 35 * M + 29_999],
    ['within one minute', BASE + 2 * H + 3 * M + 10_000, BASE + 2 * H + 3 * M + 50_000],
  ];

  it.each(ranges)('aggregate over rollups: %s', async (_, from, to) => {
    for (const seconds of [60, 300, 3600]) {
      const plan = planRollups(from, to, seconds % 3600 === 0);
      const got = buckets(await rollups.aggregate(t.projectId, 'temp', plan, seconds));
      expect([seconds, got]).toEqual([seconds, expectedBuckets(sent, seconds, from, to)]);
    }
  });

  it.each(ranges)('stats over rollups: %s', async (_, from, to) => {
    expect(stats(await rollups.stats(t.projectId, 'temp', planRollups(from, to, true)))).toEqual(expectedStats(sent, from, to));
  });

  it('answers a metric with no numbers with empty buckets and zero counts', async () => {
    const plan = planRollups(BASE, BASE + H, true);
    expect(await rollups.aggregate(t.projectId, 'note', plan, 60)).toEqual([]);
    expect(stats(await rollups.stats(t.projectId, 'note', plan))).toEqual(expectedStats([], BASE, BASE + H));
  });

  it('aggregate and stats over readings, by device, by tag, and in buckets under a minute', async () => {
    const [from, to] = [BASE + 20 * M + 1_234, BASE + H + 10 * M];
    const scope = { orgId: t.orgId, projectId: t.projectId };
    const [a] = t.devices;
    const roof = t.devices.slice(0, 2);
    const filter = { metric: 'temp', from: new Date(from), to: new Date(to) };
    expect(buckets(await byReadings.aggregate(scope, { ...filter, deviceId: a }, 10))).toEqual(expectedBuckets(sent, 10, from, to, [a]));
    expect(buckets(await byReadings.aggregate(scope, { ...filter, tag: 'roof' }, 300))).toEqual(expectedBuckets(sent, 300, from, to, roof));
    expect(stats(await byReadings.stats(scope, { ...filter, deviceId: a }))).toEqual(expectedStats(sent, from, to, [a]));
    expect(stats(await byReadings.stats(scope, { ...filter, tag: 'roof' }))).toEqual(expectedStats(sent, from, to, roof));
    expect(buckets(await byReadings.aggregate(scope, filter, 30))).toEqual(expectedBuckets(sent, 30, from, to));
  });

  it('reads a backfill waiting as deltas beside the rollups, without catching up, with the same answers', async () => {
    // Six minutes of each hour (edge minutes of the ranges among them), from a device that
    // reported nowhere before and from one that reports everywhere, with new extremes.
    const backfill: ReadingRow[] = [];
    let k = 0;
    for (const hour of [0, 1, 2]) {
      for (const minute of [3, 5, 17, 35, 41, 59]) {
        for (const device of [4, 1]) {
          const ms = BASE + hour * H + minute * M + 1_234 + device * 2_000;
          const value = k % 3 === 0 ? 99.5 : k % 3 === 1 ? -7.25 : 3;
          backfill.push({ projectId: t.projectId, deviceId: t.devices[device], eventId: `bf${k++}`, ts: new Date(ms).toISOString(), receivedAt: new Date().toISOString(), data: { temp: value } });
          sent.push({ deviceId: t.devices[device], ms, value });
        }
      }
    }
    await new ReadingsRepository(ds).insertMany(backfill, 'count');
    const pending = async () =>
      (
        await ds.query(
          `SELECT (SELECT count(*)::int FROM metric_rollup_deltas WHERE project_id = $1 AND metric = 'temp') AS deltas,
                  (SELECT count(*)::int FROM metric_rollup_marks WHERE project_id = $1 AND metric = 'temp') AS marks`,
          [t.projectId],
        )
      )[0];
    // Live data meanwhile (two minutes of hour 1, one flush): minute deltas no hour delta holds.
    const liveRows: ReadingRow[] = [8, 44].map((minute) => {
      const ms = BASE + H + minute * M + 4_321;
      sent.push({ deviceId: t.devices[2], ms, value: minute / 4 });
      return { projectId: t.projectId, deviceId: t.devices[2], eventId: `live${minute}`, ts: new Date(ms).toISOString(), receivedAt: new Date().toISOString(), data: { temp: minute / 4 } };
    });
    await new ReadingsRepository(ds).insertMany(liveRows, 'count');
    // The hours have rollups, so the backfill waits as deltas (a row per minute: both devices'
    // values in it, and a row per hour summing them), not as marks.
    const rows = backfill.length / 2 + liveRows.length;
    expect(await pending()).toEqual({ deltas: rows, marks: 0 });
    const [split] = await ds.query(
      `SELECT (SELECT count(*)::int FROM metric_rollup_hour_deltas WHERE project_id = $1 AND metric = 'temp') AS hours,
              (SELECT count(*)::int FROM metric_rollup_deltas WHERE project_id = $1 AND metric = 'temp' AND in_hour) AS in_hour`,
      [t.projectId],
    );
    expect(split).toEqual({ hours: 3, in_hour: backfill.length / 2 });
    // Within one hour, the new device only in a minute inside the range (17), none at its edges.
    const inside: [string, number, number] = ['within one hour, the backfill inside', BASE + H + 10 * M + 30_000, BASE + H + 30 * M + 30_000];
    const everyAnswer = async () => {
      for (const [name, from, to] of [...ranges, inside]) {
        for (const seconds of [60, 300, 3600]) {
          const got = buckets(await rollups.aggregate(t.projectId, 'temp', planRollups(from, to, seconds % 3600 === 0), seconds));
          expect([name, seconds, got]).toEqual([name, seconds, expectedBuckets(sent, seconds, from, to)]);
        }
        expect([name, stats(await rollups.stats(t.projectId, 'temp', planRollups(from, to, true)))]).toEqual([name, expectedStats(sent, from, to)]);
      }
    };
    await everyAnswer();
    expect(await pending()).toEqual({ deltas: rows, marks: 0 });
    // Once the catch-up job has merged them, the same answers from the rollups alone.
    await freshness.catchUpMarked(t.projectId);
    expect(await pending()).toEqual({ deltas: 0, marks: 0 });
    expect((await ds.query(`SELECT count(*)::int AS n FROM metric_rollup_hour_deltas WHERE project_id = $1`, [t.projectId]))[0].n).toBe(0);
    await everyAnswer();
  });
});

/**
 * Project-wide queries inside a longer history, where devices report only outside the window
 * or only in part of the edge hours and minutes: a device counts, and a value is taken, only
 * when it lies in the range (the device count reads only the window's hour rows; an edge
 * minute's readings are probed for the devices its minute row lists).
 */
describe('analytics queries inside a longer history (real Postgres)', () => {
  /** 30 hours of history, apart from the suite above's hours. */
  const B = Date.parse('2025-04-12T00:00:00Z');
  let ds: DataSource;
  let rollups: RollupQueriesRepository;
  let t: RepoTenant;
  const sent: Sent[] = [];

  const windows: [string, number, number][] = [
    ['24 h, long edges (minute rows less the rest)', B + 3 * H + 17 * M + 12_345, B + 27 * H + 17 * M + 40_000],
    ['24 h, short edges (read raw)', B + 3 * H + 17 * M + 50_000, B + 27 * H + 17 * M + 5_000],
    ['1 h across an hour boundary', B + 10 * H + 20 * M + 12_345, B + 11 * H + 20 * M + 3_210],
    ['1 h, one whole hour', B + 10 * H, B + 11 * H - 1],
    ['beyond both ends of the history (edge minutes without rows)', B - 20 * M - 7_000, B + 30 * H + 10 * M + 20_000],
  ];

  beforeAll(async () => {
    ds = await openDataSource();
    rollups = new RollupQueriesRepository(new RollupFreshnessRepository(ds));
    t = await makeTenant(ds, 9);
    const d = t.devices;
    const at = (device: number, ms: number) => sent.push({ deviceId: d[device], ms, value: ((sent.length * 37) % 41) / 4 });
    for (let ms = B; ms < B + 30 * H; ms += 30_000) at(0, ms); // throughout
    for (let ms = B + 3_000; ms < B + 30 * H; ms += 7 * M) at(1, ms); // throughout, sparsely
    for (let ms = B + 1_000; ms < B + 3 * H; ms += M) at(2, ms); // only before every window but the last
    for (let ms = B + 28 * H + 2_000; ms < B + 30 * H; ms += M) at(3, ms); // only after them
    // In the windows' first and last hours, but only before their start or after their end.
    for (const [device, lead, trail] of [[4, 3, 27], [7, 10, 11]]) {
      for (let k = 0; k <= 10; k++) at(device, B + lead * H + k * M + 4_000);
      for (let k = 30; k < 60; k++) at(device, B + trail * H + k * M + 4_000);
    }
    for (const [, from, to] of windows.slice(0, 3)) {
      // In the edge minutes, outside the range; and a device whose only readings in the range are at its very edges.
      at(5, Math.floor(from / M) * M + 5_000);
      at(5, Math.floor(to / M) * M + 55_000);
      at(6, from + 1_000);
      at(6, to - 1_000);
    }
    // d[8] never reports.
    const rows: ReadingRow[] = sent.map((s, k) => ({
      projectId: t.projectId,
      deviceId: s.deviceId,
      eventId: `h${k}`,
      ts: new Date(s.ms).toISOString(),
      receivedAt: new Date(s.ms).toISOString(),
      data: { temp: s.value },
    }));
    const writer = new ReadingsRepository(ds);
    for (let i = 0; i < rows.length; i += 500) await writer.insertMany(rows.slice(i, i + 500), 'count');
    // Every hour of the history has rollups, those outside a window too.
    await rollups.aggregate(t.projectId, 'temp', planRollups(B - H, B + 31 * H, true), 3600);
  });
  afterAll(() => ds?.destroy());

  it.each(windows)('stats: %s', async (_, from, to) => {
    expect(stats(await rollups.stats(t.projectId, 'temp', planRollups(from, to, true)))).toEqual(expectedStats(sent, from, to));
  });

  it('has devices that report in the history but not in the windows', () => {
    const counts = windows.map(([, from, to]) => expectedStats(sent, from, to).unique_devices);
    expect(counts).toEqual([5, 5, 3, 5, 8]);
  });

  it.each(windows)('aggregate: %s', async (_, from, to) => {
    for (const seconds of [60, 3600]) {
      const got = buckets(await rollups.aggregate(t.projectId, 'temp', planRollups(from, to, seconds % 3600 === 0), seconds));
      expect([seconds, got]).toEqual([seconds, expectedBuckets(sent, seconds, from, to)]);
    }
  });
});
