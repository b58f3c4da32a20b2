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
  let byReadings: ReadingQueriesRepository;
  let t: RepoTenant;
  const sent: Sent[] = [];

  beforeAll(async () => {
    ds = await openDataSource();
    rollups = new RollupQueriesRepository(new RollupFreshnessRepository(ds));
    byReadings = new ReadingQueriesRepository(ds);
    t = await makeTenant(ds, 4);
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
});
