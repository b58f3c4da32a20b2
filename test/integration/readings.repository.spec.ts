import { DataSource } from 'typeorm';
import { CommitBarrier } from '../../src/core/database/commit-barrier';
import type { ReadingRow } from '../../src/modules/telemetry/reading-row';
import { ReadingsRepository } from '../../src/modules/telemetry/readings.repository';
import { expectedRollups, mergeRollups, Sent, toRollupRow } from '../support/analytics';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

/** Event times of this suite: an hour no other suite of the run writes (see docs/testing.md). */
const HOUR = Date.parse('2025-05-01T10:00:00Z');
const at = (minute: number, second = 0) => new Date(HOUR + minute * 60_000 + second * 1000).toISOString();

/**
 * The reading writer's one statement (ReadingsRepository.insertMany): identities claimed, rows
 * stored, last_seen_at moved, and the analytics fragment's deltas and marks recorded.
 */
describe('ReadingsRepository.insertMany (real Postgres)', () => {
  let ds: DataSource;
  let readings: ReadingsRepository;
  let t: RepoTenant;

  beforeAll(async () => {
    ds = await openDataSource();
    readings = new ReadingsRepository(ds);
    t = await makeTenant(ds, 2);
  });
  afterAll(() => ds?.destroy());

  const row = (deviceId: number, eventId: string, ts: string, data: Record<string, unknown>, receivedAt = ts): ReadingRow => ({
    projectId: t.projectId,
    deviceId,
    eventId,
    ts,
    receivedAt,
    data,
  });
  const stored = async (metric: string) =>
    (
      await ds.query(`SELECT device_id, event_id, ts, payload FROM readings WHERE project_id = $1 AND payload ? $2 ORDER BY ts, device_id`, [
        t.projectId,
        metric,
      ])
    ).map((r: { device_id: string; event_id: string; ts: Date; payload: unknown }) => [Number(r.device_id), r.event_id, r.ts.toISOString(), r.payload]);
  const deltas = async (metric: string) =>
    mergeRollups(
      (
        await ds.query(`SELECT minute AS start, * FROM metric_rollup_deltas WHERE project_id = $1 AND metric = $2`, [t.projectId, metric])
      ).map(toRollupRow),
    );
  const marks = async (metric: string) =>
    (await ds.query(`SELECT hour FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2`, [t.projectId, metric])).map(
      (r: { hour: Date }) => r.hour.toISOString(),
    );

  it('plans a flush of 20,000 backfilled readings without JIT compilation (migration 0014; docs/ingest.md, "JIT")', async () => {
    // Only planned (EXPLAIN without ANALYZE): nothing is written.
    let plan: { Plan: { 'Total Cost': number }; JIT?: unknown } | undefined;
    const explaining = {
      query: async (sql: string, params: unknown[]) => {
        plan = (await ds.query(`EXPLAIN (FORMAT JSON) ${sql}`, params))[0]['QUERY PLAN'][0];
        return [{ n: 0 }];
      },
    } as unknown as DataSource;
    const [a, b] = t.devices;
    const rows = Array.from({ length: 20_000 }, (_, i) =>
      row(i % 2 ? b : a, `jit-${i}`, new Date(HOUR - 30 * 86_400_000 + i * 120_000).toISOString(), { temp: i % 50, hum: i % 30 }),
    );
    await new ReadingsRepository(explaining).insertMany(rows, 'count');
    // The estimate is far past jit_above_cost's default (100,000), where Postgres would compile
    // the plan for ~1.3 s; with jit off on the database it plans none.
    expect(plan!.Plan['Total Cost']).toBeGreaterThan(100_000);
    expect(plan).not.toHaveProperty('JIT');
  });

  it('stores each reading once per (device, event_id), whatever its ts, and answers how many were new', async () => {
    const [a, b] = t.devices;
    const n = await readings.insertMany(
      [
        row(a, 'e1', at(0, 1), { id1: 1 }),
        row(a, 'e2', at(0, 2), { id1: 2 }),
        // The same identity again in one flush: the first one offered is the one stored.
        row(a, 'e1', at(0, 3), { id1: 9 }),
        row(b, 'e1', at(0, 1), { id1: 3 }),
      ],
      'count',
    );
    expect(n).toBe(3);
    // A resend with another ts or payload is the same reading: only e3 is new.
    const keys = await readings.insertMany([row(a, 'e1', at(1), { id1: 5 }), row(a, 'e3', at(0, 4), { id1: 4 })], 'keys');
    expect(keys.map((k) => [Number(k.device_id), k.event_id])).toEqual([[a, 'e3']]);
    expect(await stored('id1')).toEqual([
      [a, 'e1', at(0, 1), { id1: 1 }],
      [b, 'e1', at(0, 1), { id1: 3 }],
      [a, 'e2', at(0, 2), { id1: 2 }],
      [a, 'e3', at(0, 4), { id1: 4 }],
    ]);
  });

  it('moves a device’s last_seen_at to the newest arrival, never back', async () => {
    const [a] = t.devices;
    const seen = async () => (await ds.query(`SELECT last_seen_at FROM devices WHERE id = $1`, [a]))[0].last_seen_at.toISOString();
    await readings.insertMany([row(a, 's1', at(5), { seen: 1 }, '2025-05-02T00:00:05.000Z'), row(a, 's2', at(5), { seen: 1 }, '2025-05-02T00:00:09.000Z')], 'count');
    expect(await seen()).toBe('2025-05-02T00:00:09.000Z');
    await readings.insertMany([row(a, 's3', at(6), { seen: 1 }, '2025-05-02T00:00:01.000Z')], 'count');
    expect(await seen()).toBe('2025-05-02T00:00:09.000Z');
  });

  it('records live data as minute deltas of exactly the rows it stored', async () => {
    const [a, b] = t.devices;
    const sent: Sent[] = [];
    const flush = async (rows: ReadingRow[], fresh: boolean[]) => {
      await readings.insertMany(rows, 'count');
      rows.forEach((r, i) => fresh[i] && sent.push({ deviceId: r.deviceId, ms: Date.parse(r.ts), value: r.data.live }));
    };
    // Two minutes of the hour: several values in a minute (aggregated in SQL) and one alone.
    await flush(
      [row(a, 'l1', at(10, 1), { live: 2.5 }), row(b, 'l2', at(10, 2), { live: 2.5 }), row(a, 'l3', at(10, 3), { live: -1 }), row(b, 'l4', at(11, 7), { live: 8 })],
      [true, true, true, true],
    );
    // A resend of l1 with another value is not stored, so it changes no delta; l5 is new.
    await flush([row(a, 'l1', at(10, 1), { live: 100 }), row(a, 'l5', at(11, 30), { live: 0.25, label: 'x' })], [false, true]);
    expect(await deltas('live')).toEqual(expectedRollups(sent, 60));
    expect(await marks('live')).toEqual([]);
  });

  it('marks the hour instead when a flush touches more than four of its minutes (a backfill)', async () => {
    const [a] = t.devices;
    await readings.insertMany([0, 1, 2, 3, 4].map((m) => row(a, `bf${m}`, at(20 + m), { backfill: m })), 'count');
    expect(await marks('backfill')).toEqual([new Date(HOUR).toISOString()]);
    expect(await deltas('backfill')).toEqual([]);
  });

  it('records no rollup change for values that are not numbers', async () => {
    const [a] = t.devices;
    await readings.insertMany([row(a, 'n1', at(30), { word: 'x' }), row(a, 'n2', at(31), { word: true })], 'count');
    expect(await stored('word')).toHaveLength(2);
    expect(await deltas('word')).toEqual([]);
    expect(await marks('word')).toEqual([]);
  });

  it('commits a "visible" flush without waiting for the WAL flush, for its own transaction only, and a CommitBarrier then has it on disk', async () => {
    const qr = ds.createQueryRunner();
    await qr.connect();
    try {
      // One connection for the insert and the checks after it.
      const onOneConnection = new ReadingsRepository({ query: (sql: string, params: unknown[]) => qr.query(sql, params) } as unknown as DataSource);
      expect(await onOneConnection.insertMany([row(t.devices[0], 'v1', at(40), { vis: 1 })], 'count', { commit: 'visible' })).toBe(1);
      expect(await stored('vis')).toEqual([[t.devices[0], 'v1', at(40), { vis: 1 }]]);
      // The setting ended with the statement's transaction: the pooled connection commits synchronously again.
      expect((await qr.query('SHOW synchronous_commit'))[0].synchronous_commit).toBe('on');
      const [{ lsn }] = await qr.query('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      await new CommitBarrier(ds).wait();
      const [{ flushed }] = await qr.query('SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS flushed', [lsn]);
      expect(flushed).toBe(true);
    } finally {
      await qr.release();
    }
  });
});
