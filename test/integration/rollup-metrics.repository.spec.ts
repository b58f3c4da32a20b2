import { DataSource } from 'typeorm';
import type { AppConfig } from '../../src/config/app-config';
import { RollupMetricsRepository } from '../../src/modules/analytics/freshness/rollup-metrics.repository';
import { RollupMetrics } from '../../src/modules/analytics/freshness/rollup-metrics.service';
import type { ReadingRow } from '../../src/modules/telemetry/reading-row';
import { ReadingsRepository } from '../../src/modules/telemetry/readings.repository';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

/** Event times of this suite: hours no other suite of the run writes (see docs/testing.md). */
const BASE = Date.parse('2025-04-20T10:00:00Z');

/**
 * Which metrics of a project get rollups (docs/analytics.md, "Which metrics have rollups"): the
 * first ROLLUP_METRICS_PER_PROJECT it writes numbers for, admitted before the writer's
 * statement and for good; the others record no rollup change at all.
 */
describe('RollupMetrics (real Postgres)', () => {
  let ds: DataSource;
  let repo: RollupMetricsRepository;
  let readings: ReadingsRepository;

  beforeAll(async () => {
    ds = await openDataSource();
    repo = new RollupMetricsRepository(ds);
    readings = new ReadingsRepository(ds);
  });
  afterAll(() => ds?.destroy());

  const metricsOf = (limit: number) => new RollupMetrics(repo, { rollupMetricsPerProject: limit } as AppConfig);
  let seq = 0;
  const rows = (t: RepoTenant, data: Record<string, unknown>[]): ReadingRow[] =>
    data.map((d, k) => ({
      projectId: t.projectId,
      deviceId: t.devices[0],
      eventId: `rm-${seq++}`,
      ts: new Date(BASE + k * 1000).toISOString(),
      receivedAt: new Date(BASE).toISOString(),
      data: d,
    }));
  const registered = async (t: RepoTenant) =>
    (await ds.query(`SELECT metric FROM rollup_metrics WHERE project_id = $1 ORDER BY metric`, [t.projectId])).map((r: { metric: string }) => r.metric);
  const deltaMetrics = async (t: RepoTenant) =>
    (await ds.query(`SELECT DISTINCT metric FROM metric_rollup_deltas WHERE project_id = $1 ORDER BY metric`, [t.projectId])).map((r: { metric: string }) => r.metric);

  it('admits the first metrics a project writes numbers for, up to the limit, and the writer records deltas for those only', async () => {
    const t = await makeTenant(ds);
    const metrics = metricsOf(3);
    const first = rows(t, [{ a: 1, b: 2, label: 'not a number' }, { c: 3, d: 4 }]);
    const has = await metrics.admit(first);
    await readings.insertMany(first, 'count', { hasRollups: has });
    expect(await registered(t)).toEqual(['a', 'b', 'c']);
    expect(await deltaMetrics(t)).toEqual(['a', 'b', 'c']);

    // Full: a new metric is refused without asking again; the admitted ones keep their rollups.
    const later = rows(t, [{ a: 5, e: 6, d: 7 }]);
    const again = await metrics.admit(later);
    await readings.insertMany(later, 'count', { hasRollups: again });
    expect(await registered(t)).toEqual(['a', 'b', 'c']);
    expect(await ds.query(`SELECT count(*)::int AS n FROM metric_rollup_deltas WHERE project_id = $1 AND metric = 'a'`, [t.projectId])).toEqual([{ n: 2 }]);
    expect(await deltaMetrics(t)).toEqual(['a', 'b', 'c']);

    // Another process that only ever saw the project full still knows every metric with rollups.
    const other = metricsOf(3);
    expect(await other.sourceOf(t.projectId, 'zzz')).toBe('readings');
    const third = rows(t, [{ b: 8, zzz: 9 }]);
    await readings.insertMany(third, 'count', { hasRollups: await other.admit(third) });
    expect(await ds.query(`SELECT count(*)::int AS n FROM metric_rollup_deltas WHERE project_id = $1 AND metric = 'b'`, [t.projectId])).toEqual([{ n: 2 }]);
    expect(await deltaMetrics(t)).toEqual(['a', 'b', 'c']);
  });

  it('tells queries where a metric is answered: rollups, the readings, or nothing ever written', async () => {
    const t = await makeTenant(ds);
    const metrics = metricsOf(2);
    expect(await metrics.sourceOf(t.projectId, 'a')).toBe('nothing');
    await metrics.admit(rows(t, [{ a: 1 }]));
    expect(await metrics.sourceOf(t.projectId, 'a')).toBe('rollups');
    expect(await metrics.sourceOf(t.projectId, 'b')).toBe('nothing');
    await metrics.admit(rows(t, [{ b: 1, c: 2 }]));
    expect(await metricsOf(2).sourceOf(t.projectId, 'b')).toBe('rollups');
    expect(await metricsOf(2).sourceOf(t.projectId, 'c')).toBe('readings');
  });

  it('never admits past the limit, however many writers admit at once', async () => {
    const t = await makeTenant(ds);
    await Promise.all(
      Array.from({ length: 8 }, (_, w) => metricsOf(10).admit(rows(t, [Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`w${w}m${k}`, k]))]))),
    );
    expect((await registered(t)).length).toBe(10);
  });

  it('admits every metric with a limit of 0', async () => {
    const t = await makeTenant(ds);
    await metricsOf(0).admit(rows(t, [Object.fromEntries(Array.from({ length: 2000 }, (_, k) => [`m${k}`, k]))]));
    expect((await registered(t)).length).toBe(2000);
    expect(await metricsOf(0).sourceOf(t.projectId, 'other')).toBe('nothing');
  });
});
