import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { DeviceBitmaps1764000000011 } from '../../migrations/1764000000011-device-bitmaps';
import { buildConfig } from '../../src/config/app-config';
import { parseEnv } from '../../src/config/env.schema';
import { dataSourceOptions } from '../../src/core/database/data-source';
import { dropDatabase, ensureDatabase } from '../../src/core/database/ensure-database';
import { RollupFreshnessRepository } from '../../src/modules/analytics/freshness/rollup-freshness.repository';
import type { Stats } from '../../src/modules/analytics/query/answers';
import { RollupQueriesRepository } from '../../src/modules/analytics/query/rollup-queries.repository';
import { planRollups } from '../../src/modules/analytics/rollup-plan';
import type { ReadingRow } from '../../src/modules/telemetry/reading-row';
import { ReadingsRepository } from '../../src/modules/telemetry/readings.repository';
import { expectedStats, Sent } from '../support/analytics';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

const M = 60_000;
const H = 3_600_000;
/** Event times of this suite: hours no other suite of the run writes (see docs/testing.md). */
const B = Date.parse('2025-06-02T00:00:00Z');

const stats = (s: Stats) => ({ ...s, count: Number(s.count), unique_devices: Number(s.unique_devices) });

/** A device as the devices module inserts it (any insert gets its number from the trigger). */
const insertDevice = async (ds: DataSource, projectId: number, externalId: string): Promise<{ id: number; ordinal: number } | null> => {
  const rows: { id: string; ordinal: number }[] = await ds.query(
    `INSERT INTO devices (project_id, external_id, name, tags) VALUES ($1, $2, $2, '{}')
     ON CONFLICT (project_id, external_id) DO NOTHING RETURNING id, ordinal`,
    [projectId, externalId],
  );
  return rows.length ? { id: Number(rows[0].id), ordinal: rows[0].ordinal } : null;
};

const ordinalsOf = async (ds: DataSource, projectId: number): Promise<number[]> =>
  (await ds.query(`SELECT ordinal FROM devices WHERE project_id = $1 ORDER BY ordinal`, [projectId])).map((r: { ordinal: number }) => r.ordinal);

/**
 * Devices are numbered densely within their project (the bit a device has in an hour row's
 * bitmap), by whatever inserts them, concurrently too, and a number is never given twice.
 */
describe('device ordinals (real Postgres)', () => {
  let ds: DataSource;

  beforeAll(async () => {
    ds = await openDataSource();
  });
  afterAll(() => ds?.destroy());

  it('numbers a project’s devices 0, 1, 2, … in concurrent creations, and an existing external_id takes no number', async () => {
    const [a, b] = [await makeTenant(ds, 3), await makeTenant(ds, 0)];
    expect(await ordinalsOf(ds, a.projectId)).toEqual([0, 1, 2]);
    const created = await Promise.all([
      ...Array.from({ length: 30 }, (_, k) => insertDevice(ds, a.projectId, `c-${k}`)),
      ...Array.from({ length: 6 }, () => insertDevice(ds, a.projectId, 'twice')),
      ...Array.from({ length: 10 }, (_, k) => insertDevice(ds, b.projectId, `c-${k}`)),
      insertDevice(ds, a.projectId, 'dev-1'),
    ]);
    expect(created.filter((d) => d === null)).toHaveLength(6);
    expect(await ordinalsOf(ds, a.projectId)).toEqual(Array.from({ length: 34 }, (_, k) => k));
    expect(await ordinalsOf(ds, b.projectId)).toEqual(Array.from({ length: 10 }, (_, k) => k));
    const [{ next }] = await ds.query(`SELECT next_device_ordinal AS next FROM projects WHERE id = $1`, [a.projectId]);
    expect(next).toBe(34);
  });

  it('never gives a deleted device’s number to another', async () => {
    const t = await makeTenant(ds, 4);
    await ds.query(`DELETE FROM devices WHERE id = $1`, [t.devices[3]]);
    expect((await insertDevice(ds, t.projectId, 'after'))!.ordinal).toBe(4);
    expect(await ordinalsOf(ds, t.projectId)).toEqual([0, 1, 2, 4]);
  });
});

/**
 * stats' distinct-device count over many hours, from the hour rows' device bitmaps and the edge
 * hours' first/last times (docs/analytics.md, "Counting distinct devices"), equals a
 * count(DISTINCT device_id) over the readings: with hour rows whose bitmaps differ in length
 * (devices created later), backfilled hours, devices only at the edges, and after a delete.
 */
describe('distinct devices over hour bitmaps (real Postgres)', () => {
  let ds: DataSource;
  let rollups: RollupQueriesRepository;
  let freshness: RollupFreshnessRepository;
  let writer: ReadingsRepository;
  let t: RepoTenant;
  let sent: Sent[] = [];
  let seq = 0;

  const windows: [string, number, number][] = [
    ['whole hours only', B + 2 * H, B + 20 * H - 1],
    ['edges only (two partial hours)', B + 5 * H + 17 * M + 12_345, B + 6 * H + 41 * M + 3_210],
    ['edges and whole hours, short bitmaps (devices created later only at the edges)', B + 3 * H + 17 * M + 12_345, B + 14 * H + 30 * M + 40_000],
    ['24 h, long edges', B + 3 * H + 17 * M + 12_345, B + 27 * H + 17 * M + 40_000],
    ['24 h, short edges (read raw)', B + 3 * H + 17 * M + 50_000, B + 27 * H + 17 * M + 5_000],
    ['1 h across an hour boundary', B + 10 * H + 20 * M + 12_345, B + 11 * H + 20 * M + 3_210],
    ['beyond both ends of the history', B - 20 * M - 7_000, B + 30 * H + 10 * M + 20_000],
  ];

  const write = async (values: Sent[]) => {
    const rows: ReadingRow[] = values.map((s) => ({
      projectId: t.projectId,
      deviceId: s.deviceId,
      eventId: `b${seq++}`,
      ts: new Date(s.ms).toISOString(),
      receivedAt: new Date(s.ms).toISOString(),
      data: { temp: s.value },
    }));
    for (let i = 0; i < rows.length; i += 500) await writer.insertMany(rows.slice(i, i + 500), 'count');
    sent.push(...values);
  };
  const every = (deviceId: number, from: number, to: number, step: number): Sent[] => {
    const out: Sent[] = [];
    for (let ms = from; ms < to; ms += step) out.push({ deviceId, ms, value: ((seq + out.length) * 37 % 41) / 4 });
    return out;
  };
  /** What a straightforward count over the readings gives. */
  const distinctInReadings = async (from: number, to: number): Promise<number> => {
    const [{ n }] = await ds.query(
      `SELECT count(DISTINCT device_id)::int AS n FROM readings
        WHERE project_id = $1 AND ts >= $2 AND ts <= $3 AND jsonb_typeof(payload -> 'temp') = 'number'`,
      [t.projectId, new Date(from), new Date(to)],
    );
    return n;
  };
  /** Every hour of the history current, as the queries leave it. */
  const catchUp = () => rollups.aggregate(t.projectId, 'temp', planRollups(B - H, B + 31 * H, true), 3600);
  const hourRows = async (): Promise<{ start: Date; devices: string[]; bits: string | null }[]> =>
    ds.query(
      `SELECT start, devices, device_bits::text AS bits FROM metric_rollups
        WHERE project_id = $1 AND metric = 'temp' AND span_s = 3600 AND count > 0 ORDER BY start`,
      [t.projectId],
    );
  /** Bit i from the left set iff the device with ordinal i is listed; as long as the highest. */
  const bitmapOf = (devices: number[], ordinal: Map<number, number>) => {
    const ords = devices.map((d) => ordinal.get(d)!);
    const bits = Array.from({ length: Math.max(...ords) + 1 }, () => '0');
    for (const o of ords) bits[o] = '1';
    return bits.join('');
  };
  const ordinals = async () =>
    new Map<number, number>(
      (await ds.query(`SELECT id, ordinal FROM devices WHERE project_id = $1`, [t.projectId])).map((r: { id: string; ordinal: number }) => [
        Number(r.id),
        r.ordinal,
      ]),
    );
  const expectEveryWindowExact = async () => {
    for (const [name, from, to] of windows) {
      const got = stats(await rollups.stats(t.projectId, 'temp', planRollups(from, to, true)));
      expect([name, got]).toEqual([name, expectedStats(sent, from, to)]);
      expect([name, got.unique_devices]).toEqual([name, await distinctInReadings(from, to)]);
    }
  };

  beforeAll(async () => {
    ds = await openDataSource();
    writer = new ReadingsRepository(ds);
    freshness = new RollupFreshnessRepository(ds);
    rollups = new RollupQueriesRepository(freshness);
    t = await makeTenant(ds, 6);
    const d = t.devices;
    await write([
      ...every(d[0], B, B + 30 * H, 5 * M), // throughout
      ...every(d[1], B + 2_000, B + 10 * H, 13 * M), // the first 10 hours
      ...every(d[5], B + 4_000, B + 30 * H, 20 * M), // throughout, sparsely
      ...every(d[4], B + 12 * H + 6_000, B + 14 * H, 9 * M), // two whole hours of some windows
      // d[2]: in the first and last hours of the long windows, only before their start or after their end.
      ...every(d[2], B + 3 * H + 1_000, B + 3 * H + 10 * M, M),
      ...every(d[2], B + 27 * H + 30 * M + 1_000, B + 28 * H, M),
      // d[3]: only in the first hours of the windows, inside them (the whole hours' bitmaps lack it).
      ...every(d[3], B + 3 * H + 40 * M + 1_000, B + 3 * H + 50 * M, M),
      ...every(d[3], B + 5 * H + 50 * M + 1_000, B + 5 * H + 55 * M, M),
    ]);
    await catchUp();
    // Devices created after those hours were built: higher ordinals, so longer bitmaps where they report.
    const [d6, d7, d8] = await Promise.all(['late-6', 'late-7', 'late-8'].map(async (x) => (await insertDevice(ds, t.projectId, x))!.id));
    t.devices.push(d6, d7, d8);
    await write([
      ...every(d6, B + 15 * H + 3_000, B + 30 * H, 11 * M),
      // Only in the last hour of a window whose whole hours' bitmaps are all shorter than its ordinal.
      ...every(d7, B + 14 * H + 5 * M + 1_000, B + 14 * H + 10 * M, M),
      // A backfill of built hours: deltas, which the counts read beside the rollups until merged.
      ...every(d8, B + H + 7_000, B + 3 * H, 3 * M),
    ]);
    await catchUp();
  });
  afterAll(() => ds?.destroy());

  it.each(windows)('counts what the readings give: %s', async (_, from, to) => {
    const got = stats(await rollups.stats(t.projectId, 'temp', planRollups(from, to, true)));
    expect(got).toEqual(expectedStats(sent, from, to));
    expect(got.unique_devices).toBe(await distinctInReadings(from, to));
  });

  it('has windows where devices report only outside them, at their edges or in their whole hours', () => {
    expect(windows.map(([, from, to]) => expectedStats(sent, from, to).unique_devices)).toEqual([9, 4, 6, 7, 7, 2, 9]);
  });

  it('gives every hour row the bitmap of its devices, of different lengths', async () => {
    // The counts above read d[8]'s backfill as deltas beside the rollups; the catch-up job merges them.
    expect(await freshness.catchUpMarked(t.projectId)).toBeGreaterThan(0);
    const ordinal = await ordinals();
    const rows = await hourRows();
    expect(rows).toHaveLength(30);
    for (const r of rows) expect([r.start, r.bits]).toEqual([r.start, bitmapOf(r.devices.map(Number), ordinal)]);
    expect(new Set(rows.map((r) => r.bits!.length))).toEqual(new Set([6, 7, 8, 9]));
  });

  it('counts the whole hours from their bitmaps', async () => {
    // A bit set by hand (d[2], which never reports in hour 12) counts; the hour is rebuilt after.
    const [from, to] = [B + 12 * H, B + 13 * H - 1];
    expect(stats(await rollups.stats(t.projectId, 'temp', planRollups(from - 30 * M, to + 30 * M, true))).unique_devices).toBe(3);
    await ds.query(
      `UPDATE metric_rollups SET device_bits = set_bit(device_bits, 2, 1) WHERE project_id = $1 AND metric = 'temp' AND span_s = 3600 AND start = $2`,
      [t.projectId, new Date(from)],
    );
    expect(stats(await rollups.stats(t.projectId, 'temp', planRollups(from - 30 * M, to + 30 * M, true))).unique_devices).toBe(4);
    await ds.query(`INSERT INTO metric_rollup_marks (project_id, metric, hour) VALUES ($1, 'temp', $2)`, [t.projectId, new Date(from)]);
    expect(stats(await rollups.stats(t.projectId, 'temp', planRollups(from - 30 * M, to + 30 * M, true))).unique_devices).toBe(3);
  });

  it('counts whole hours without a bitmap from their devices', async () => {
    await ds.query(
      `UPDATE metric_rollups SET device_bits = NULL WHERE project_id = $1 AND metric = 'temp' AND span_s = 3600 AND start >= $2 AND start < $3`,
      [t.projectId, new Date(B + 4 * H), new Date(B + 20 * H)],
    );
    await expectEveryWindowExact();
    // Deltas merged into such an hour (and into one with a bitmap) give it the bitmap of all its devices.
    await write([...every(t.devices[2], B + 6 * H + 7 * M + 500, B + 6 * H + 9 * M, M), ...every(t.devices[4], B + 21 * H + 3 * M + 500, B + 21 * H + 5 * M, M)]);
    await freshness.catchUp(t.projectId, 'temp', { from: B + 6 * H, to: B + 22 * H });
    const ordinal = await ordinals();
    const merged = (await hourRows()).filter((r) => [B + 6 * H, B + 21 * H].includes(r.start.getTime()));
    expect(merged).toHaveLength(2);
    for (const r of merged) expect([r.start, r.bits]).toEqual([r.start, bitmapOf(r.devices.map(Number), ordinal)]);
    await expectEveryWindowExact();
  });

  it('counts exactly after a device is deleted (its readings and the project’s rollups go, hours are rebuilt)', async () => {
    const gone = t.devices[1];
    await ds.query(`DELETE FROM devices WHERE id = $1`, [gone]);
    sent = sent.filter((s) => s.deviceId !== gone);
    await expectEveryWindowExact();
    const ordinal = await ordinals();
    for (const r of await hourRows()) expect([r.start, r.bits]).toEqual([r.start, bitmapOf(r.devices.map(Number), ordinal)]);
  });
});

/**
 * The migration numbers the devices a database already has (by id within each project) and
 * gives the hour rows it already has their bitmaps, on a database of its own migrated up to
 * the migration before it.
 */
describe('migration 1764000000011 on existing data (real Postgres)', () => {
  let ds: DataSource;
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname += '_m11';

  beforeAll(async () => {
    await ensureDatabase(url.toString());
    const options = dataSourceOptions(buildConfig(parseEnv({ ...process.env, DATABASE_URL: url.toString() })));
    ds = await new DataSource({ ...options, migrations: MIGRATIONS.filter((m) => m !== DeviceBitmaps1764000000011) }).initialize();
    await ds.runMigrations({ transaction: 'each' });
  });
  afterAll(async () => {
    await ds?.destroy();
    await dropDatabase(url.toString());
  });

  it('numbers existing devices by id per project, and computes the bitmaps of existing hour rows', async () => {
    const [org] = await ds.query(`INSERT INTO orgs (name) VALUES ('m11') RETURNING id`);
    const [p, q, empty] = await ds.query(`INSERT INTO projects (org_id, name) SELECT $1, 'p' || g FROM generate_series(1, 3) g RETURNING id`, [org.id]);
    // Interleaved ids: each project's are not contiguous.
    const ids: { id: string; project_id: string }[] = await ds.query(
      `INSERT INTO devices (project_id, external_id, name) SELECT CASE WHEN g % 3 = 0 THEN $2::bigint ELSE $1::bigint END, 'd' || g, 'd' || g
         FROM generate_series(1, 12) g ORDER BY g RETURNING id, project_id`,
      [p.id, q.id],
    );
    const of = (project: string) => ids.filter((d) => d.project_id === project).map((d) => Number(d.id));
    const [pd, qd] = [of(p.id), of(q.id)];
    expect([pd.length, qd.length]).toEqual([8, 4]);
    const hour = (project: string, start: string, devices: number[] | null, span = 3600) =>
      ds.query(
        `INSERT INTO metric_rollups (project_id, metric, span_s, start, count, devices) VALUES ($1, 'temp', $2, $3, $4, $5::bigint[])`,
        [project, span, start, devices ? devices.length : 0, devices],
      );
    await hour(p.id, '2025-06-01T00:00:00Z', [pd[0], pd[3], pd[4]]);
    await hour(p.id, '2025-06-01T01:00:00Z', [pd[7]]);
    await hour(p.id, '2025-06-01T02:00:00Z', null);
    await hour(p.id, '2025-06-01T00:00:00Z', [pd[1]], 60);
    await hour(q.id, '2025-06-01T00:00:00Z', [qd[1], qd[2]]);
    // A device listed that is no device of the project: no bitmap (the query unnests that hour).
    await hour(q.id, '2025-06-01T01:00:00Z', [qd[0], pd[2]]);

    const runner = ds.createQueryRunner();
    try {
      await new DeviceBitmaps1764000000011().up(runner);
    } finally {
      await runner.release();
    }

    const devices: { id: string; ordinal: number }[] = await ds.query(`SELECT id, ordinal FROM devices ORDER BY id`);
    const ordinal = new Map(devices.map((d) => [Number(d.id), d.ordinal]));
    expect(pd.map((d) => ordinal.get(d))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(qd.map((d) => ordinal.get(d))).toEqual([0, 1, 2, 3]);
    const next = await ds.query(`SELECT id, next_device_ordinal AS n FROM projects WHERE id = ANY($1::bigint[]) ORDER BY id`, [[p.id, q.id, empty.id]]);
    expect(next.map((r: { n: number }) => r.n)).toEqual([8, 4, 0]);
    const bits = await ds.query(`SELECT project_id, span_s, start, device_bits::text AS b FROM metric_rollups ORDER BY project_id, span_s, start`);
    expect(bits.map((r: { b: string | null }) => r.b)).toEqual([null, '10011', '00000001', null, '011', null]);
    // Creating a device now continues each project's numbers.
    const [{ ordinal: o }] = await ds.query(`INSERT INTO devices (project_id, external_id, name) VALUES ($1, 'new', 'new') RETURNING ordinal`, [q.id]);
    expect(o).toBe(4);
  });
});
