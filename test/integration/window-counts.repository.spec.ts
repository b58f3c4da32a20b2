import { DataSource } from 'typeorm';
import { Operator, OPERATORS, RuleCondition, verdict, WindowCondition, WindowCount } from '../../src/modules/rules/evaluation/k-of-n';
import { WindowCountsRepository } from '../../src/modules/rules/evaluation/window-counts.repository';
import type { ReadingRow } from '../../src/modules/telemetry/reading-row';
import { ReadingsRepository } from '../../src/modules/telemetry/readings.repository';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

/** Event times of this suite: hours no other suite of the run writes (see docs/testing.md). */
const BASE = Date.parse('2025-05-20T10:00:00Z');

/**
 * k-of-n as rule evaluation counts it (src/modules/rules/evaluation/k-of-n.ts): in Postgres,
 * over a device's newest window_n readings by (ts, id). The definition, in JavaScript, is the
 * oracle below; the cases are the ones a rule author reads in docs/rules.md.
 */
describe('WindowCountsRepository (real Postgres)', () => {
  let ds: DataSource;
  let readings: ReadingsRepository;
  let windows: WindowCountsRepository;
  let t: RepoTenant;
  let nextDevice = 0;
  let seq = 0;

  beforeAll(async () => {
    ds = await openDataSource();
    readings = new ReadingsRepository(ds);
    windows = new WindowCountsRepository();
    t = await makeTenant(ds, 40);
  });
  afterAll(() => ds?.destroy());

  /** A device of its own with `values` of `metric` sent oldest first, a second apart (undefined: the key absent). */
  async function device(values: unknown[], metric = 'temperature', tsOf = (i: number) => BASE + i * 1000): Promise<number> {
    const deviceId = t.devices[nextDevice++];
    const rows: ReadingRow[] = values.map((v, i) => ({
      projectId: t.projectId,
      deviceId,
      eventId: `w-${seq++}`,
      ts: new Date(tsOf(i)).toISOString(),
      receivedAt: new Date(BASE).toISOString(),
      data: stored(v, metric),
    }));
    // One statement per reading, so ids follow the order sent (ties in ts are broken by id).
    for (const row of rows) await readings.insertMany([row], 'count');
    return deviceId;
  }
  const count = (deviceId: number, conditions: WindowCondition[]) => ds.transaction((tx) => windows.count(tx, t, deviceId, conditions));

  const rule = (over: Partial<RuleCondition> = {}): RuleCondition => ({
    metric: 'temperature',
    operator: '>',
    threshold: 80,
    window_n: 5,
    required_k: 3,
    ...over,
  });
  const evaluate = async (values: unknown[], r = rule(), metric?: string) => {
    const [c] = await count(await device(values, metric), [r]);
    return verdict(r, c);
  };

  it('counts "temperature > 80 in 3 of the last 5" as a rule author reads it', async () => {
    expect(await evaluate([85, 85, 85, 85, 85])).toEqual({
      holds: true,
      match_count: 5,
      considered: 5,
      latest_value: 85,
      latest_ts: new Date(BASE + 4000).toISOString(),
    });
    expect(await evaluate([75, 75, 75, 75, 75])).toMatchObject({ holds: false, match_count: 0 });
    expect(await evaluate([85, 75, 90, 70, 95])).toMatchObject({ holds: true, match_count: 3, latest_value: 95 });
    expect(await evaluate([85, 75, 70, 70, 90])).toMatchObject({ holds: false, match_count: 2 });
    // Not while the window is not full.
    expect(await evaluate([95, 95, 95])).toMatchObject({ holds: false, match_count: 3, considered: 3 });
    // Readings with only another metric.
    expect(await evaluate([90, 90, 90, 90, 90], rule(), 'humidity')).toMatchObject({ holds: false, match_count: 0, latest_value: null });
    // Only the newest n count.
    expect(await evaluate([95, 95, 95, 10, 10, 10, 10, 10])).toMatchObject({ holds: false, match_count: 0 });
    expect(await evaluate([10, 10, 10, 95, 95, 95, 10, 10])).toMatchObject({ holds: true, match_count: 3 });
    // k = n requires every reading to match.
    expect((await evaluate([81, 81, 81, 81, 80], rule({ required_k: 5 }))).holds).toBe(false);
    expect((await evaluate([81, 81, 81, 81, 81], rule({ required_k: 5 }))).holds).toBe(true);
  });

  it('lets strings, booleans, null and missing values occupy a slot without matching', async () => {
    expect(await evaluate(['95', true, null, undefined, 95, 95])).toMatchObject({ holds: false, match_count: 2, considered: 5 });
    // The newest reading's value is not a number: latest_value is null, latest_ts its time.
    expect(await evaluate([95, 95, 95, 95, '96'])).toMatchObject({ match_count: 4, latest_value: null, latest_ts: new Date(BASE + 4000).toISOString() });
  });

  it.each<[Operator, number, boolean]>([
    ['>', 80, false],
    ['>', 80.5, true],
    ['>=', 80, true],
    ['>=', 79.9, false],
    ['<', 80, false],
    ['<', 79.5, true],
    ['<=', 80, true],
    ['<=', 80.1, false],
  ])('compares with %s: threshold 80, value %d → %s', async (operator, value, holds) => {
    expect((await evaluate([value], rule({ operator, window_n: 1, required_k: 1 }))).holds).toBe(holds);
  });

  it('answers a device without readings with an empty window', async () => {
    expect(await count(-1, [rule()])).toEqual([{ match_count: 0, considered: 0, latest_value: null, latest_ts: null }]);
    expect(await count(-1, [])).toEqual([]);
  });

  it('refuses an operator that is not one of the four', async () => {
    await expect(count(t.devices[0], [{ ...rule(), operator: '> 0 OR true' as Operator }])).rejects.toThrow(/not a rule operator/);
  });

  it('counts many conditions in one statement exactly as the JavaScript definition does', async () => {
    // Values around the thresholds, doubles that differ in their last bit, denormals, -0,
    // things that are not numbers, absent keys; many readings share a ts (ties go by id).
    const pool: unknown[] = [80, 80.5, 79.9, 0.1 + 0.2, 0.3, 5e-324, 1e-310, -0, -80, 1e300, -1e300, '80', true, false, null, undefined, 81, 79];
    const random = lcg(42);
    const values = Array.from({ length: 600 }, () => pool[Math.floor(random() * pool.length)]);
    const tsOf = (i: number) => BASE + 3_600_000 + Math.floor(i / 3) * 1000;
    const deviceId = await device(values, 'temperature', tsOf);
    const thresholds = [80, 80.5, 0.3, 0.30000000000000004, 0, 5e-324, -80, 1e300, 79];
    const conditions: WindowCondition[] = Array.from({ length: 60 }, () => ({
      metric: random() < 0.9 ? 'temperature' : 'other',
      operator: OPERATORS[Math.floor(random() * OPERATORS.length)],
      threshold: thresholds[Math.floor(random() * thresholds.length)],
      window_n: 1 + Math.floor(random() * 700),
    }));
    const newestFirst = values.map((v, i) => ({ payload: stored(v), ts: tsOf(i) })).reverse();
    expect(await count(deviceId, conditions)).toEqual(conditions.map((c) => definition(c, newestFirst)));
  });

  it('reads only the window, whatever the planner thinks an index walk costs', async () => {
    // Statistics missing or stale (a handful of readings where there are thousands) made the
    // planner read every reading of the device and sort them all. The same choice is made
    // here by telling it, for this transaction only, that a random page costs a million
    // sequential ones: device_window must still walk the index newest first and stop at the
    // window. (Not by ANALYZE: statistics would outlive the test and change other suites' plans.)
    const deviceId = t.devices[nextDevice++];
    const row = (i: number): ReadingRow => ({
      projectId: t.projectId,
      deviceId,
      eventId: `walk-${i}`,
      ts: new Date(BASE + 3_600_000 + i * 1000).toISOString(),
      receivedAt: new Date(BASE).toISOString(),
      data: { temperature: i % 100 },
    });
    await readings.insertMany(Array.from({ length: 10_005 }, (_, i) => row(i)), 'count');
    const r = rule({ window_n: 2_000, threshold: 95, required_k: 1 });
    const fetched = await ds.transaction(async (tx) => {
      // Rows and index entries read from the readings' partitions and their indexes, by any
      // scan (an index scan counts a reading twice: its entry and its row). The backend's
      // counters also hold its earlier transactions' until it reports them: the difference
      // within this one transaction is the statement's own.
      const read = async () =>
        (
          await tx.query(
            `WITH parts AS (SELECT inhrelid AS oid FROM pg_inherits WHERE inhparent = 'readings'::regclass)
             SELECT sum(pg_stat_get_xact_tuples_returned(r.oid) + pg_stat_get_xact_tuples_fetched(r.oid))::int AS n
               FROM (SELECT oid FROM parts UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM parts)) r`,
          )
        )[0].n as number;
      await tx.query('SET LOCAL random_page_cost = 1000000');
      const before = await read();
      const [c] = await windows.count(tx, t, deviceId, [r]);
      // The newest 2,000 are readings 10,004 … 8,005: twenty of each temperature 0 … 99, the newest 4.
      expect(c).toMatchObject({ considered: 2_000, match_count: 80, latest_value: 4 });
      return (await read()) - before;
    });
    expect(fetched).toBeLessThan(5_000);
  });
});

/** A reading's data for `value` of `metric` (undefined: the key absent), as JSON stores it (-0 is 0). */
function stored(value: unknown, metric = 'temperature'): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value === undefined ? { other: 1 } : { [metric]: value }));
}

/** k-of-n in JavaScript, as docs/rules.md defines it: the oracle the SQL is held to. */
function definition(c: WindowCondition, newestFirst: { payload: Record<string, unknown>; ts: number }[]): WindowCount {
  const compare: Record<Operator, (v: number, t: number) => boolean> = {
    '>': (v, t) => v > t,
    '>=': (v, t) => v >= t,
    '<': (v, t) => v < t,
    '<=': (v, t) => v <= t,
  };
  const numeric = (payload: Record<string, unknown>) => {
    const v = payload[c.metric];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const window = newestFirst.slice(0, c.window_n);
  const matches = window.filter((r) => {
    const v = numeric(r.payload);
    return v !== null && compare[c.operator](v, c.threshold);
  }).length;
  return {
    match_count: matches,
    considered: window.length,
    latest_value: window.length ? numeric(window[0].payload) : null,
    latest_ts: window.length ? new Date(window[0].ts).toISOString() : null,
  };
}

/** A seeded generator, so a failure shows the same case again. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}
