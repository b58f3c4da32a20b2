import { DataSource } from 'typeorm';
import { RollupFreshnessRepository } from '../../src/modules/analytics/freshness/rollup-freshness.repository';
import type { ReadingRow } from '../../src/modules/telemetry/reading-row';
import { ReadingsRepository } from '../../src/modules/telemetry/readings.repository';
import { expectedRollups, Sent, toRollupRow } from '../support/analytics';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

const H = 3_600_000;
/** Event times of this suite: hours no other suite of the run writes (see docs/testing.md). */
const BASE = Date.parse('2025-06-10T00:00:00Z');

/**
 * The catch-up job's work (RollupFreshnessRepository.catchUpMarked): after a backfill of hours
 * whose rollups exist (deltas, or marks for a large one), it leaves them exactly what the
 * readings give, without a query, so later queries find nothing waiting.
 */
describe('RollupFreshnessRepository.catchUpMarked (real Postgres)', () => {
  let ds: DataSource;
  let readings: ReadingsRepository;
  let freshness: RollupFreshnessRepository;
  let t: RepoTenant;
  let other: RepoTenant;

  beforeAll(async () => {
    ds = await openDataSource();
    readings = new ReadingsRepository(ds);
    freshness = new RollupFreshnessRepository(ds);
    t = await makeTenant(ds, 3);
    other = await makeTenant(ds, 1);
  });
  afterAll(() => ds?.destroy());

  let seq = 0;
  /** Writes one reading per value (each with every metric given) through the reading writer; returns what was sent, per metric. */
  const write = async (tenant: RepoTenant, metrics: string[], values: { device: number; ms: number; value: number }[], marked?: Set<number>) => {
    const rows: ReadingRow[] = values.map((v) => ({
      projectId: tenant.projectId,
      deviceId: tenant.devices[v.device],
      eventId: `e${seq++}`,
      ts: new Date(v.ms).toISOString(),
      receivedAt: new Date(v.ms).toISOString(),
      data: Object.fromEntries(metrics.map((m, k) => [m, v.value + k])),
    }));
    await readings.insertMany(rows, 'count', { marked });
    return Object.fromEntries(metrics.map((m, k) => [m, values.map((v): Sent => ({ deviceId: tenant.devices[v.device], ms: v.ms, value: v.value + k }))]));
  };
  /** Values in `minutes` of the hour starting at `hour`, spread over the devices. */
  const at = (hour: number, minutes: number[], salt: number, devices = 3) =>
    minutes.flatMap((m, k) =>
      Array.from({ length: devices }, (_, d) => ({ device: d, ms: hour + m * 60_000 + (d * 7 + k) * 1000, value: ((m + d + salt) % 5) * 0.5 })),
    );
  const every5 = Array.from({ length: 12 }, (_, i) => i * 5 + 2);
  const rollups = async (tenant: RepoTenant, metric: string, spanS: number) =>
    (
      await ds.query(`SELECT * FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = $3 AND count > 0 ORDER BY start`, [
        tenant.projectId,
        metric,
        spanS,
      ])
    ).map(toRollupRow);
  const marks = async (tenant: RepoTenant, metric: string) =>
    (
      await ds.query(`SELECT DISTINCT hour FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2 ORDER BY hour`, [tenant.projectId, metric])
    ).map((r: { hour: Date }) => r.hour.getTime());
  const deltas = async (tenant: RepoTenant, metric: string) =>
    Number((await ds.query(`SELECT count(*) FROM metric_rollup_deltas WHERE project_id = $1 AND metric = $2`, [tenant.projectId, metric]))[0].count);
  const build = (tenant: RepoTenant, metric: string, from: number, to: number) => freshness.current(tenant.projectId, metric, { from, to }, async () => 'read');

  it('catches up every hour with rollups and a backfill waiting, of each metric, and leaves the rest as it was', async () => {
    const h = BASE;
    const sent = await write(t, ['temp', 'hum'], at(h, [0, 30], 0).concat(at(h + H, [10], 1), at(h + 2 * H, [20], 2)));
    await build(t, 'temp', h, h + 3 * H);
    await build(t, 'hum', h, h + 3 * H);
    const otherSent = await write(other, ['temp'], at(h, [1], 0, 1));
    await build(other, 'temp', h, h + H);

    // A backfill across many minutes of hours 0 and 1 (deltas, for both metrics: they have
    // rollups), a live reading in hour 1 (a delta too), a backfill of hour 5, which has no
    // rollups (a mark, left to the query that first reads it), and the other project's backfill.
    const marked = new Set<number>();
    const back = await write(t, ['temp', 'hum'], at(h, every5, 3).concat(at(h + H, every5, 4), at(h + 5 * H, every5, 5)), marked);
    const live = await write(t, ['temp'], [{ device: 2, ms: h + H + 59 * 60_000, value: 7 }]);
    const otherBack = await write(other, ['temp'], at(h, every5, 6, 1));
    expect([...marked]).toEqual([t.projectId]);
    for (const m of ['temp', 'hum']) sent[m].push(...back[m]);
    sent.temp.push(...live.temp);
    expect(await marks(t, 'temp')).toEqual([h + 5 * H]);
    // A delta row per minute of the backfill (three devices' values each), and the live one.
    expect(await deltas(t, 'temp')).toBe(2 * every5.length + 1);
    expect(await deltas(t, 'hum')).toBe(2 * every5.length);

    // Two metrics of two hours: 4 hours caught up; the other project's deltas are its own job's.
    expect(await freshness.catchUpMarked(t.projectId)).toBe(4);
    expect(await marks(t, 'temp')).toEqual([h + 5 * H]);
    expect(await marks(t, 'hum')).toEqual([h + 5 * H]);
    expect(await deltas(t, 'temp')).toBe(0);
    const built = (s: Sent[]) => s.filter((x) => x.ms < h + 3 * H);
    for (const m of ['temp', 'hum']) {
      expect(await rollups(t, m, 60)).toEqual(expectedRollups(built(sent[m]), 60));
      expect(await rollups(t, m, 3600)).toEqual(expectedRollups(built(sent[m]), 3600));
    }
    expect(await rollups(other, 'temp', 3600)).toEqual(expectedRollups(otherSent.temp, 3600));
    expect(await deltas(other, 'temp')).toBe(every5.length);

    expect(await freshness.catchUpMarked(other.projectId)).toBe(1);
    expect(await rollups(other, 'temp', 3600)).toEqual(expectedRollups([...otherSent.temp, ...otherBack.temp], 3600));
    // Nothing left that it should take.
    expect(await freshness.catchUpMarked(t.projectId)).toBe(0);
  });

  it('catches up a long run of backfilled hours piece by piece, with the same numbers', async () => {
    const h = BASE + 24 * H;
    const hours = Array.from({ length: 30 }, (_, k) => h + k * H);
    const sent = await write(t, ['long'], hours.flatMap((x, k) => at(x, [k % 60], k, 1)));
    await build(t, 'long', h, h + 30 * H);
    const back = await write(t, ['long'], hours.flatMap((x, k) => at(x, every5, k, 2)));
    expect(await deltas(t, 'long')).toBe(30 * every5.length);
    expect(await freshness.catchUpMarked(t.projectId)).toBe(30);
    expect(await deltas(t, 'long')).toBe(0);
    const all = [...sent.long, ...back.long];
    expect(await rollups(t, 'long', 60)).toEqual(expectedRollups(all, 60));
    expect(await rollups(t, 'long', 3600)).toEqual(expectedRollups(all, 3600));
  });
});
