import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { Bucket, Stats } from '../readings.repository';
import { HOUR_MS, hoursOf, isEmpty, mergeSpans, MINUTE_MS, RollupPlan, Span } from './rollup-plan';

/** The per-project rebuild lock (two-key form: namespace, project); the device-delete trigger takes it too. */
const PROJECT_LOCK_NAMESPACE = 727_020;
/** Rebuilds hold it shared; retention and mark compaction hold it alone (one-key form). */
const ALL_PROJECTS_LOCK = 727_021;
/** A rebuild of more than this many hours' worth reads the project's readings by scanning, not device by device. */
const MAX_PROBED_HOURS = 2;

/** Rows the rollup path reads: hour and minute rollups, then the raw readings at the edges. */
interface Pieces {
  rolled: string;
  raw: string | null;
  params: unknown[];
}

/**
 * Minute and hour rollups of one metric per project (migration 1764000000004 explains how they
 * stay exact). Everything here is project-wide: a query by device or tag reads readings.
 */
@Injectable()
export class RollupsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Makes the rollups of the whole hours in `span` current: builds the hours that have none
   * and rebuilds the marked ones. Cheap when nothing changed: one indexed look without locks.
   */
  async refresh(projectId: number, metric: string, span: Span): Promise<number> {
    if (isEmpty(span)) return 0;
    const hours = hoursOf(span);
    const bounds = [projectId, metric, new Date(span.from), new Date(span.to)];
    const [state] = await this.ds.query(
      `SELECT (SELECT count(*)::int FROM metric_rollups
                WHERE project_id = $1 AND metric = $2 AND span_s = 3600 AND start >= $3 AND start < $4) AS built,
              EXISTS (SELECT 1 FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4) AS marked`,
      bounds,
    );
    if (state.built === hours.length && !state.marked) return 0;
    return this.ds.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock_shared($1), pg_advisory_xact_lock($2, ($3::bigint % 2147483647)::int)`, [
        ALL_PROJECTS_LOCK,
        PROJECT_LOCK_NAMESPACE,
        projectId,
      ]);
      // Marks first: a reading committed after this statement either is in the rebuild's
      // later snapshot or leaves its mark for the next one.
      const marked: { hour: Date; minute: Date | null }[] = await tx.query(
        `WITH taken AS (DELETE FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4 RETURNING hour, minute)
         SELECT DISTINCT hour, minute FROM taken`,
        bounds,
      );
      const built: { start: Date }[] = await tx.query(
        `SELECT start FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 3600 AND start >= $3 AND start < $4`,
        bounds,
      );
      const have = new Set(built.map((r) => r.start.getTime()));
      const whole = new Set(hours.filter((h) => !have.has(h)));
      for (const r of marked) if (r.minute === null) whole.add(r.hour.getTime());
      const minutes = new Set<number>();
      for (const r of marked) if (r.minute !== null && !whole.has(r.hour.getTime())) minutes.add(r.minute.getTime());
      if (!whole.size && !minutes.size) return 0;
      await this.rebuild(tx, projectId, metric, [...whole], [...minutes]);
      return whole.size + minutes.size;
    });
  }

  /** Per-bucket count, sum, avg, min and max for an interval of whole minutes. */
  async aggregate(projectId: number, metric: string, plan: RollupPlan, intervalSeconds: number): Promise<Bucket[]> {
    const { rolled, raw, params } = this.pieces(projectId, metric, plan);
    params.push(intervalSeconds);
    const i = `$${params.length}`;
    return this.ds.query(
      `WITH parts AS (
         SELECT t, count, sum, min, max FROM (${rolled}) x
         ${raw ? `UNION ALL SELECT t, 1, v, v, v FROM (${raw}) y` : ''}
       )
       SELECT to_timestamp(floor(date_part('epoch', t) / ${i}) * ${i}) AS start, sum(count)::bigint AS count,
              sum(sum) AS sum, sum(sum) / sum(count)::float8 AS avg, min(min) AS min, max(max) AS max
         FROM parts GROUP BY 1 ORDER BY 1`,
      params,
    );
  }

  /** count, min, max, mean, nearest-rank p50/p95/p99 (as percentile_disc) and distinct devices. */
  async stats(projectId: number, metric: string, plan: RollupPlan): Promise<Stats> {
    const { rolled, raw, params } = this.pieces(projectId, metric, plan);
    const rawRows = raw ?? `SELECT NULL::timestamptz AS t, NULL::bigint AS device_id, NULL::float8 AS v WHERE false`;
    // percentile_disc takes the row at position max(1, ceil(p * n)): here the smallest value
    // whose cumulative count reaches it.
    const rank = (p: number) => `(SELECT min(v) FROM ranked WHERE cum >= greatest(1, ceil(${p}::float8 * n.n)))`;
    const [row] = await this.ds.query(
      `WITH rolled AS MATERIALIZED (${rolled}), raw AS MATERIALIZED (${rawRows}),
       hist AS (
         SELECT v, sum(c)::bigint AS c FROM (
           SELECT u.v, u.c FROM rolled, unnest(rolled.vals, rolled.cnts) AS u(v, c)
           UNION ALL SELECT v, 1 FROM raw
         ) h GROUP BY v
       ),
       ranked AS (SELECT v, sum(c) OVER (ORDER BY v) AS cum FROM hist),
       n AS (SELECT coalesce(sum(c), 0)::bigint AS n FROM hist)
       SELECT n.n AS count, (SELECT min(v) FROM hist) AS min, (SELECT max(v) FROM hist) AS max,
              ((SELECT coalesce(sum(sum), 0) FROM rolled) + (SELECT coalesce(sum(v), 0) FROM raw)) / nullif(n.n, 0)::float8 AS mean,
              ${rank(0.5)} AS p50, ${rank(0.95)} AS p95, ${rank(0.99)} AS p99,
              (SELECT count(*) FROM (SELECT unnest(devices) FROM rolled UNION SELECT device_id FROM raw) d)::int AS unique_devices
         FROM n`,
      params,
    );
    return { ...row, count: Number(row.count) };
  }

  /**
   * After retention dropped readings before `cutoff`: forgets the rollups that counted them,
   * and marks that no longer matter (hours without rollups get built anyway; one mark per
   * hour is enough). Alone under the all-projects lock, so no rebuild is in flight.
   */
  async forgetBefore(cutoff: Date | null): Promise<void> {
    await this.ds.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock($1)`, [ALL_PROJECTS_LOCK]);
      if (cutoff) await tx.query(`DELETE FROM metric_rollups WHERE start < $1`, [cutoff]);
      await tx.query(
        `DELETE FROM metric_rollup_marks m
          WHERE NOT EXISTS (SELECT 1 FROM metric_rollups r
                             WHERE r.project_id = m.project_id AND r.metric = m.metric AND r.span_s = 3600 AND r.start = m.hour)`,
      );
      await tx.query(
        `DELETE FROM metric_rollup_marks a USING metric_rollup_marks b
          WHERE a.project_id = b.project_id AND a.metric = b.metric AND a.hour = b.hour AND a.ctid < b.ctid`,
      );
    });
  }

  /**
   * Replaces the rollups of the `whole` hours and of the single `minutes` (epoch ms) with ones
   * built from the readings, then the hour rows of every hour touched from its minute rows.
   */
  private async rebuild(tx: EntityManager, projectId: number, metric: string, whole: number[], minutes: number[]): Promise<void> {
    const spans = mergeSpans([...whole.map((h) => ({ from: h, to: h + HOUR_MS })), ...minutes.map((m) => ({ from: m, to: m + MINUTE_MS }))]);
    const touched = [...new Set([...whole, ...minutes.map((m) => Math.floor(m / HOUR_MS) * HOUR_MS)])].map((h) => new Date(h));
    const los = spans.map((s) => new Date(s.from));
    const his = spans.map((s) => new Date(s.to));
    const base = [projectId, metric, los, his];
    await tx.query(`SET LOCAL work_mem = '64MB'`);
    await tx.query(
      `DELETE FROM metric_rollups USING unnest($3::timestamptz[], $4::timestamptz[]) AS g(lo, hi)
        WHERE project_id = $1 AND metric = $2 AND span_s = 60 AND start >= g.lo AND start < g.hi`,
      base,
    );
    await tx.query(`DELETE FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 3600 AND start = ANY($3::timestamptz[])`, [
      projectId,
      metric,
      touched,
    ]);
    // A few hours' worth is read device by device through the (device_id, ts) index; more, by
    // scanning the project's readings of the whole range.
    const probed = spans.reduce((n, s) => n + s.to - s.from, 0) <= MAX_PROBED_HOURS * HOUR_MS;
    const source = probed
      ? `devices d CROSS JOIN unnest($3::timestamptz[], $4::timestamptz[]) AS g(lo, hi)
           CROSS JOIN LATERAL (SELECT r.ts, r.device_id, r.payload FROM readings r
                                WHERE r.device_id = d.id AND r.project_id = $1 AND r.ts >= g.lo AND r.ts < g.hi) r
          WHERE d.project_id = $1`
      : `readings r WHERE r.project_id = $1 AND r.ts >= $5 AND r.ts < $6
            AND EXISTS (SELECT 1 FROM unnest($3::timestamptz[], $4::timestamptz[]) AS g(lo, hi) WHERE r.ts >= g.lo AND r.ts < g.hi)`;
    await tx.query(
      `WITH raw AS MATERIALIZED (
         SELECT date_bin('1 minute', r.ts, TIMESTAMPTZ 'epoch') AS t, r.device_id, (r.payload ->> $2::text)::float8 AS v
           FROM ${source} AND jsonb_typeof(r.payload -> $2::text) = 'number'
       ),
       per_value AS (SELECT t, v, count(*)::int AS c FROM raw GROUP BY t, v),
       hist AS (SELECT t, array_agg(v ORDER BY v) AS vals, array_agg(c ORDER BY v) AS cnts FROM per_value GROUP BY t),
       totals AS (SELECT t, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi,
                         array_agg(DISTINCT device_id ORDER BY device_id) AS devices FROM raw GROUP BY t)
       INSERT INTO metric_rollups (project_id, metric, span_s, start, count, sum, min, max, vals, cnts, devices)
       SELECT $1, $2, 60, t, n, s, lo, hi, vals, cnts, devices FROM totals JOIN hist USING (t)`,
      probed ? base : [...base, los[0], his[his.length - 1]],
    );
    await tx.query(
      `WITH m AS MATERIALIZED (
         SELECT date_bin('1 hour', start, TIMESTAMPTZ 'epoch') AS h, count, sum, min, max, vals, cnts, devices
           FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 60 AND start >= $4 AND start < $5
            AND date_bin('1 hour', start, TIMESTAMPTZ 'epoch') IN (SELECT unnest($3::timestamptz[]))
       ),
       totals AS (SELECT h, sum(count) AS n, sum(sum) AS s, min(min) AS lo, max(max) AS hi FROM m GROUP BY h),
       per_value AS (SELECT h, u.v, sum(u.c)::int AS c FROM m, unnest(m.vals, m.cnts) AS u(v, c) GROUP BY h, u.v),
       hist AS (SELECT h, array_agg(v ORDER BY v) AS vals, array_agg(c ORDER BY v) AS cnts FROM per_value GROUP BY h),
       devs AS (SELECT h, array_agg(DISTINCT d ORDER BY d) AS devices FROM m, unnest(m.devices) AS d GROUP BY h)
       INSERT INTO metric_rollups (project_id, metric, span_s, start, count, sum, min, max, vals, cnts, devices)
       SELECT $1, $2, 3600, hs.h, coalesce(n, 0), s, lo, hi, vals, cnts, devices
         FROM unnest($3::timestamptz[]) AS hs(h) LEFT JOIN totals USING (h) LEFT JOIN hist USING (h) LEFT JOIN devs USING (h)`,
      [projectId, metric, touched, new Date(Math.min(...touched.map((d) => d.getTime()))), new Date(Math.max(...touched.map((d) => d.getTime())) + HOUR_MS)],
    );
  }

  /** SQL for the plan's rollup rows (t, count, sum, min, max, vals, cnts, devices) and raw edge readings (t, device_id, v). */
  private pieces(projectId: number, metric: string, plan: RollupPlan): Pieces {
    const d = (ms: number) => new Date(ms);
    const [a, b] = plan.minutes;
    const params: unknown[] = [projectId, metric, d(plan.hours.from), d(plan.hours.to), d(a.from), d(a.to), d(b.from), d(b.to)];
    const rolled = `SELECT start AS t, count, sum, min, max, vals, cnts, devices FROM metric_rollups
       WHERE project_id = $1 AND metric = $2 AND count > 0
         AND ((span_s = 3600 AND start >= $3 AND start < $4)
           OR (span_s = 60 AND ((start >= $5 AND start < $6) OR (start >= $7 AND start < $8))))`;
    // The edges are under a minute each: read device by device through the (device_id, ts) index.
    const ranges = plan.raw.filter((s) => !isEmpty(s)).map((s) => {
      params.push(d(s.from), d(s.to));
      return `SELECT r.ts, r.device_id, r.payload FROM readings r
               WHERE r.device_id = d.id AND r.project_id = $1 AND r.ts >= $${params.length - 1} AND r.ts < $${params.length}`;
    });
    const raw = ranges.length
      ? `SELECT r.ts AS t, r.device_id, (r.payload ->> $2::text)::float8 AS v
           FROM devices d CROSS JOIN LATERAL (${ranges.join(' UNION ALL ')}) r
          WHERE d.project_id = $1 AND jsonb_typeof(r.payload -> $2::text) = 'number'`
      : null;
    return { rolled, raw, params };
  }
}
