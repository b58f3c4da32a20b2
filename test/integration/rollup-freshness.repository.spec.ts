import { DataSource, EntityManager } from 'typeorm';
import { MAX_SPREAD_VALUES } from '../../src/modules/analytics/freshness/rollup-changes';
import { MERGE_SOON_DELTAS, RollupFreshnessRepository } from '../../src/modules/analytics/freshness/rollup-freshness.repository';
import type { ReadingRow } from '../../src/modules/telemetry/reading-row';
import { ReadingsRepository } from '../../src/modules/telemetry/readings.repository';
import { expectedRollups, Sent, toRollupRow } from '../support/analytics';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

const H = 3_600_000;
/** Event times of this suite: hours no other suite of the run writes (see docs/testing.md). */
const BASE = Date.parse('2025-03-10T00:00:00Z');

/**
 * The freshness half of analytics: whatever the writer recorded (deltas for live data and for a
 * backfill of built hours, marks for other backfills), a catch-up leaves minute and hour rollups
 * equal to what the readings give.
 */
describe('RollupFreshnessRepository (real Postgres)', () => {
  let ds: DataSource;
  let readings: ReadingsRepository;
  let freshness: RollupFreshnessRepository;
  let t: RepoTenant;

  beforeAll(async () => {
    ds = await openDataSource();
    readings = new ReadingsRepository(ds);
    freshness = new RollupFreshnessRepository(ds);
    t = await makeTenant(ds, 3);
  });
  afterAll(() => ds?.destroy());

  let seq = 0;
  /** Writes the values (one reading each) through the reading writer; returns what was sent. */
  const write = async (metric: string, values: { device: number; ms: number; value: number }[]): Promise<Sent[]> => {
    const rows: ReadingRow[] = values.map((v) => ({
      projectId: t.projectId,
      deviceId: t.devices[v.device],
      eventId: `${metric}-${seq++}`,
      ts: new Date(v.ms).toISOString(),
      receivedAt: new Date(v.ms).toISOString(),
      data: { [metric]: v.value },
    }));
    await readings.insertMany(rows, 'count');
    return values.map((v) => ({ deviceId: t.devices[v.device], ms: v.ms, value: v.value }));
  };
  const rollups = async (metric: string, spanS: number) =>
    (
      await ds.query(`SELECT * FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = $3 AND count > 0 ORDER BY start`, [
        t.projectId,
        metric,
        spanS,
      ])
    ).map(toRollupRow);
  const pending = async (metric: string) => {
    const [row] = await ds.query(
      `SELECT (SELECT count(*)::int FROM metric_rollup_deltas WHERE project_id = $1 AND metric = $2) AS deltas,
              (SELECT count(*)::int FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2) AS marks`,
      [t.projectId, metric],
    );
    return row as { deltas: number; marks: number };
  };
  const hourDeltas = async (metric: string): Promise<number> =>
    (await ds.query(`SELECT count(*)::int AS n FROM metric_rollup_hour_deltas WHERE project_id = $1 AND metric = $2`, [t.projectId, metric]))[0].n;
  const catchUp = (metric: string, from: number, to: number) => freshness.catchUp(t.projectId, metric, { from, to });
  /** A read for `current`: how many deltas of the metric it sees in its snapshot. */
  const waitingIn = (metric: string) => (tx: EntityManager) =>
    tx.query(`SELECT count(*)::int AS n FROM metric_rollup_deltas WHERE project_id = $1 AND metric = $2`, [t.projectId, metric]);
  /** `n` values over the minutes of the hour starting at `hour`, spread over the devices. */
  const many = (hour: number, n: number) =>
    Array.from({ length: n }, (_, k) => ({ device: k % 3, ms: hour + (k % 60) * 60_000 + Math.floor(k / 60) * 1000 + (k % 3), value: (k % 7) * 0.5 }));
  /** A few values in `minutes` of the hour starting at `hour`, spread over the devices. */
  const live = (hour: number, minutes: number[], salt: number) =>
    minutes.flatMap((m, k) => [0, 1, 2].map((d) => ({ device: d, ms: hour + m * 60_000 + (d * 7 + k) * 1000, value: ((m + d + salt) % 5) * 0.5 })));

  it('builds the hours it is asked for from the readings, and merges later deltas into them exactly', async () => {
    const metric = 'merge';
    const h = BASE;
    const sent = await write(metric, live(h, [1, 2], 0));
    await catchUp(metric, h, h + H);
    expect(await rollups(metric, 60)).toEqual(expectedRollups(sent, 60));
    // Live data in minutes already built and in a new one: deltas, merged by the next catch-up.
    sent.push(...(await write(metric, live(h, [2, 3], 1))));
    sent.push(...(await write(metric, live(h, [2], 2))));
    expect((await pending(metric)).deltas).toBeGreaterThan(0);
    await catchUp(metric, h, h + H);
    expect(await pending(metric)).toEqual({ deltas: 0, marks: 0 });
    expect(await rollups(metric, 60)).toEqual(expectedRollups(sent, 60));
    expect(await rollups(metric, 3600)).toEqual(expectedRollups(sent, 3600));
  });

  it('takes a backfill of an hour with rollups as deltas, and of one without as a mark, exactly either way', async () => {
    const metric = 'marked';
    const h = BASE + 2 * H;
    const sent = await write(metric, live(h, [0, 59], 0));
    await catchUp(metric, h, h + H);
    // A backfill over many minutes of a built hour: a delta row per minute, no mark.
    sent.push(...(await write(metric, live(h, [5, 10, 15, 20, 25, 30], 3))));
    expect(await pending(metric)).toEqual({ deltas: 6, marks: 0 });
    // …and their sum over the hour, for reads of the whole hour.
    expect(await hourDeltas(metric)).toBe(1);
    // Of an hour without rollups: a mark (its first catch-up builds it from the readings anyway).
    sent.push(...(await write(metric, live(h + H, [5, 10, 15, 20, 25, 30], 4))));
    expect(await pending(metric)).toEqual({ deltas: 6, marks: 1 });
    await catchUp(metric, h, h + 2 * H);
    expect(await pending(metric)).toEqual({ deltas: 0, marks: 0 });
    expect(await hourDeltas(metric)).toBe(0);
    expect(await rollups(metric, 60)).toEqual(expectedRollups(sent, 60));
    expect(await rollups(metric, 3600)).toEqual(expectedRollups(sent, 3600));
  });

  it('marks an hour with rollups when one flush backfills more values of it than MAX_SPREAD_VALUES, and rebuilds it exactly', async () => {
    const metric = 'bulk';
    const h = BASE + 3 * H;
    const sent = await write(metric, live(h, [0], 0));
    await catchUp(metric, h, h + H);
    sent.push(...(await write(metric, many(h, MAX_SPREAD_VALUES + 1))));
    expect(await pending(metric)).toEqual({ deltas: 0, marks: 1 });
    await catchUp(metric, h, h + H);
    expect(await pending(metric)).toEqual({ deltas: 0, marks: 0 });
    expect(await rollups(metric, 60)).toEqual(expectedRollups(sent, 60));
    expect(await rollups(metric, 3600)).toEqual(expectedRollups(sent, 3600));
  });

  it('lets a query read deltas beside built rollups without catching up, and catches up first for a mark', async () => {
    const metric = 'through';
    const h = BASE + 14 * H;
    await write(metric, live(h, [0], 0));
    await catchUp(metric, h, h + H);
    await write(metric, live(h, [1, 2, 3, 4, 5], 1));
    // Seen by the read, in its snapshot, and still there after it.
    expect(await freshness.current(t.projectId, metric, { from: h, to: h + H }, waitingIn(metric))).toEqual([{ n: 5 }]);
    expect(await pending(metric)).toEqual({ deltas: 5, marks: 0 });
    // A mark of the hour (here by hand): caught up before the read.
    await ds.query(`INSERT INTO metric_rollup_marks (project_id, metric, hour) VALUES ($1, $2, $3)`, [t.projectId, metric, new Date(h)]);
    expect(await freshness.current(t.projectId, metric, { from: h, to: h + H }, waitingIn(metric))).toEqual([{ n: 0 }]);
    expect(await pending(metric)).toEqual({ deltas: 0, marks: 0 });
  });

  it('merges the deltas a query read beside the rollups after answering, once more than MERGE_SOON_DELTAS wait', async () => {
    const metric = 'soon';
    const h = BASE + 40 * H;
    const hours = Math.ceil((MERGE_SOON_DELTAS + 1) / 60);
    const sent = await write(metric, live(h, [0], 0));
    await catchUp(metric, h, h + hours * H);
    // One value in every minute of each hour, written as live data (4 minutes of each hour per
    // flush): a delta row per value that no hour delta holds. (A backfill's, in_hour, would
    // be read as one hour delta per hour: see the next test.)
    for (let c = 0; c < 15; c++) {
      const values = Array.from({ length: hours * 4 }, (_, x) => {
        const k = Math.floor(x / 4) * 60 + c * 4 + (x % 4);
        return { device: k % 3, ms: h + k * 60_000 + 30_000, value: k % 9 };
      });
      sent.push(...(await write(metric, values)));
    }
    expect(await pending(metric)).toEqual({ deltas: hours * 60, marks: 0 });
    expect(await hourDeltas(metric)).toBe(0);
    // The read sees them all (it did not wait for a merge); the merge follows.
    expect(await freshness.current(t.projectId, metric, { from: h, to: h + hours * H }, waitingIn(metric))).toEqual([{ n: hours * 60 }]);
    const until = Date.now() + 30_000;
    while ((await pending(metric)).deltas > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await pending(metric)).toEqual({ deltas: 0, marks: 0 });
    expect(await rollups(metric, 60)).toEqual(expectedRollups(sent, 60));
    expect(await rollups(metric, 3600)).toEqual(expectedRollups(sent, 3600));
  });

  it('builds many hours at once by scanning, with the same numbers', async () => {
    const metric = 'scanned';
    const h = BASE + 5 * H;
    const sent = (await Promise.all([0, 1, 2, 3].map((k) => write(metric, live(h + k * H, [k, 30 + k], k))))).flat();
    await catchUp(metric, h, h + 4 * H);
    expect(await rollups(metric, 60)).toEqual(expectedRollups(sent, 60));
    expect(await rollups(metric, 3600)).toEqual(expectedRollups(sent, 3600));
  });

  it('reads inside the snapshot it caught up in', async () => {
    const metric = 'snapshot';
    const h = BASE + 10 * H;
    const sent = await write(metric, live(h, [7], 0));
    const seen = await freshness.current(t.projectId, metric, { from: h, to: h + H }, async (tx) =>
      (await tx.query(`SELECT * FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 60`, [t.projectId, metric])).map(toRollupRow),
    );
    expect(seen).toEqual(expectedRollups(sent, 60));
  });

  it('forgets, after retention, the rollups before the cutoff and the marks and deltas of hours without rollups', async () => {
    const metric = 'forget';
    const old = Date.parse('2025-03-01T00:00:00Z');
    const cutoff = Date.parse('2025-03-02T00:00:00Z');
    await write(metric, live(old, [1], 0));
    await catchUp(metric, old, old + H);
    // A delta and two marks of hours that will have no rollups once the old one is forgotten.
    await write(metric, live(old, [2], 1));
    await write(metric, live(old + H, [1, 2, 3, 4, 5], 0));
    await write(metric, live(old + H, [6, 7, 8, 9, 10], 0));
    // A backfill of the built hour: minute deltas and an hour delta.
    await write(metric, live(old, [10, 20, 30, 40, 50], 2));
    expect(await pending(metric)).toEqual({ deltas: 6, marks: 2 });
    expect(await hourDeltas(metric)).toBe(1);
    await freshness.forgetBefore(new Date(cutoff));
    expect(await rollups(metric, 60)).toEqual([]);
    expect(await rollups(metric, 3600)).toEqual([]);
    expect(await pending(metric)).toEqual({ deltas: 0, marks: 0 });
    expect(await hourDeltas(metric)).toBe(0);
  });

  it('keeps one mark per hour when it tidies up', async () => {
    const metric = 'tidy';
    const h = BASE + 12 * H;
    await write(metric, live(h, [0], 0));
    await catchUp(metric, h, h + H);
    await write(metric, many(h, MAX_SPREAD_VALUES + 1));
    await write(metric, many(h, MAX_SPREAD_VALUES + 1));
    expect((await pending(metric)).marks).toBe(2);
    await freshness.forgetBefore(null);
    expect((await pending(metric)).marks).toBe(1);
  });
});
