import type { SqlParams } from '../../../core/database/sql-params';
import { ROLLUP_COLUMNS, rollupsOfValues } from '../rollup-sql';
import { HasRollups, HourValues, MetricValues, rollupChanges, RollupSourceRow } from './rollup-changes';

/** How the reading writer's statement holds its rows, for the fragment to refer to. */
export interface WriterRows {
  /** Placeholders of the rows' arrays, in the order of the rows given: projects, devices, event ids, times. */
  projectIds: string;
  deviceIds: string;
  eventIds: string;
  times: string;
  /** A CTE of (device_id, event_id), the rows the statement inserts. */
  inserted: string;
}

/**
 * The rollup part of the reading writer's one statement (docs/analytics.md, "Keeping rollups
 * exact"): CTEs, each led by a comma, that record the marks of `rows` and the deltas of those
 * the statement inserts; its values are bound through `params`. Empty when no row holds a
 * number. `rows` are the ones the writer binds, in the same order: deltas are joined to the
 * inserted rows by position, so no payload is looked into. `markedProjects`: the projects whose
 * hours it backfills (with marks or deltas), whose catch-up the writer queues once the
 * statement has committed. Metrics without rollups (`hasRollups`, from RollupMetrics.admit)
 * record nothing.
 */
export function rollupChangesFragment(
  rows: readonly RollupSourceRow[],
  writer: WriterRows,
  params: SqlParams,
  hasRollups?: HasRollups,
): { sql: string; markedProjects: number[] } {
  const { marks, values, singles, spread } = rollupChanges(rows, hasRollups);
  const ordered = `unnest(${writer.projectIds}::bigint[], ${writer.deviceIds}::bigint[], ${writer.eventIds}::text[], ${writer.times}::timestamptz[])
                WITH ORDINALITY AS u(p, d, e, t, i)`;
  // event_id in the "C" collation: equality is the same in every deterministic collation, and
  // a merge join's sort by bytes is several times cheaper than by a language's rules.
  const insertedOnly = `JOIN ${writer.inserted} n ON n.device_id = u.d AND n.event_id COLLATE "C" = u.e COLLATE "C"`;
  const parts: string[] = [];
  if (marks.p.length) {
    parts.push(`, marked AS (
         INSERT INTO metric_rollup_marks (project_id, metric, hour)
         SELECT * FROM unnest(${params.add(marks.p)}::bigint[], ${params.add(marks.m)}::text[], ${params.add(marks.h)}::timestamptz[])
       )`);
  }
  // Delta rows of values in `from` (joined to the inserted rows as `u`): aggregated per minute
  // in SQL, or, for values alone in their minute, written directly without aggregating. A
  // backfill's minute deltas are `inHour`: its hour deltas hold them for whole-hour reads.
  const aggregated = (name: string, from: string, m: string, v: string, inHour = false) =>
    `, ${name}_values AS (
         SELECT u.p, ${m} AS m, date_bin('1 minute', u.t, TIMESTAMPTZ 'epoch') AS t, u.d, ${v} AS v, u.t AS ts
           FROM ${from}
       ), ${name} AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, in_hour, ${ROLLUP_COLUMNS})
         SELECT p, m, t, ${inHour}, ${ROLLUP_COLUMNS} FROM (${rollupsOfValues(`${name}_values`)}) r
       )`;
  const alone = (name: string, from: string, m: string, v: string, inHour = false) =>
    `, ${name} AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, in_hour, ${ROLLUP_COLUMNS})
         SELECT u.p, ${m}, date_bin('1 minute', u.t, TIMESTAMPTZ 'epoch'), ${inHour}, 1, ${v}, ${v}, ${v}, ARRAY[${v}], ARRAY[1], ARRAY[u.d], ARRAY[1], ARRAY[u.t], ARRAY[u.t]
           FROM ${from}
       )`;
  const live = (v: MetricValues) => `unnest(${params.add(v.i)}::int[], ${params.add(v.m)}::text[], ${params.add(v.v)}::float8[]) AS k(i, m, v)
           JOIN ${ordered} ON u.i = k.i + 1
           ${insertedOnly}`;
  if (values.i.length) parts.push(aggregated('delta', live(values), 'k.m', 'k.v'));
  if (singles.i.length) parts.push(alone('single', live(singles), 'k.m', 'k.v'));
  if (spread.hours.p.length) {
    // A backfill's hour that has rollups gets deltas, so a query reads it without a rebuild:
    // per minute (for reads of parts of the hour) and summed over the hour (for reads of the
    // whole hour, one row instead of one per minute); one without rollups gets a mark (its
    // first query builds it from the readings anyway).
    const h = spread.hours;
    parts.push(`, spread_hours AS MATERIALIZED (
         SELECT s.k - 1 AS k, s.p, s.m, s.h,
                EXISTS (SELECT 1 FROM metric_rollups r WHERE r.project_id = s.p AND r.metric = s.m AND r.span_s = 3600 AND r.start = s.h) AS built
           FROM unnest(${params.add(h.p)}::bigint[], ${params.add(h.m)}::text[], ${params.add(h.h)}::timestamptz[]) WITH ORDINALITY AS s(p, m, h, k)
       ), spread_marked AS (
         INSERT INTO metric_rollup_marks (project_id, metric, hour) SELECT p, m, h FROM spread_hours WHERE NOT built
       )`);
    // The backfill's values in built hours, joined to the inserted rows once: the minute deltas
    // and the hour deltas are written from the same rows.
    const unnested = (v: HourValues, alone: boolean) =>
      `SELECT *, ${alone} FROM unnest(${params.add(v.i)}::int[], ${params.add(v.k)}::int[], ${params.add(v.v)}::float8[])`;
    const groups = [spread.values.i.length ? unnested(spread.values, false) : null, spread.singles.i.length ? unnested(spread.singles, true) : null];
    parts.push(`, spread_values AS MATERIALIZED (
         SELECT u.p, u.d, u.t, s.m, s.h, x.v, x.alone
           FROM (${groups.filter((g): g is string => g !== null).join(' UNION ALL ')}) AS x(i, k, v, alone)
           JOIN spread_hours s ON s.k = x.k AND s.built
           JOIN ${ordered} ON u.i = x.i + 1
           ${insertedOnly}
       )`);
    if (groups[0]) parts.push(aggregated('spread_delta', 'spread_values u WHERE NOT u.alone', 'u.m', 'u.v', true));
    if (groups[1]) parts.push(alone('spread_single', 'spread_values u WHERE u.alone', 'u.m', 'u.v', true));
    parts.push(`, spread_hour_values AS (
         SELECT p, m, h AS t, d, v, t AS ts FROM spread_values
       ), spread_hour AS (
         INSERT INTO metric_rollup_hour_deltas (project_id, metric, hour, ${ROLLUP_COLUMNS})
         ${rollupsOfValues('spread_hour_values')}
       )`);
  }
  return { sql: parts.join(''), markedProjects: [...new Set([...marks.p, ...spread.hours.p])] };
}
