import type { SqlParams } from '../../../core/database/sql-params';
import { ROLLUP_COLUMNS, rollupsOfValues } from '../rollup-sql';
import { HourValues, rollupChanges, RollupSourceRow } from './rollup-changes';

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
 * statement has committed.
 */
export function rollupChangesFragment(rows: readonly RollupSourceRow[], writer: WriterRows, params: SqlParams): { sql: string; markedProjects: number[] } {
  const { marks, values, singles, spread } = rollupChanges(rows);
  const ordered = `unnest(${writer.projectIds}::bigint[], ${writer.deviceIds}::bigint[], ${writer.eventIds}::text[], ${writer.times}::timestamptz[])
                WITH ORDINALITY AS u(p, d, e, t, i)`;
  // event_id in the "C" collation: equality is the same in every deterministic collation, and
  // a merge join's sort by bytes is several times cheaper than by a language's rules.
  const insertedOnly = `JOIN ${writer.inserted} n ON n.device_id = u.d AND n.event_id COLLATE "C" = u.e COLLATE "C"`;
  const valuesOf = (v: typeof values) => `unnest(${params.add(v.i)}::int[], ${params.add(v.m)}::text[], ${params.add(v.v)}::float8[]) AS k(i, m, v)`;
  const parts: string[] = [];
  if (marks.p.length) {
    parts.push(`, marked AS (
         INSERT INTO metric_rollup_marks (project_id, metric, hour)
         SELECT * FROM unnest(${params.add(marks.p)}::bigint[], ${params.add(marks.m)}::text[], ${params.add(marks.h)}::timestamptz[])
       )`);
  }
  if (values.i.length) {
    parts.push(`, x AS (
         SELECT u.p, k.m, date_bin('1 minute', u.t, TIMESTAMPTZ 'epoch') AS t, u.d, k.v, u.t AS ts
           FROM ${valuesOf(values)}
           JOIN ${ordered} ON u.i = k.i + 1
           ${insertedOnly}
       ), delta AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, ${ROLLUP_COLUMNS})
         ${rollupsOfValues('x')}
       )`);
  }
  // One value in its minute (or of a backfill): its delta row is written directly, without aggregating.
  const singleRow = (m: string, v: string) =>
    `u.p, ${m}, date_bin('1 minute', u.t, TIMESTAMPTZ 'epoch'), 1, ${v}, ${v}, ${v}, ARRAY[${v}], ARRAY[1], ARRAY[u.d], ARRAY[1], ARRAY[u.t], ARRAY[u.t]`;
  if (singles.i.length) {
    parts.push(`, single AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, ${ROLLUP_COLUMNS})
         SELECT ${singleRow('k.m', 'k.v')}
           FROM ${valuesOf(singles)}
           JOIN ${ordered} ON u.i = k.i + 1
           ${insertedOnly}
       )`);
  }
  if (spread.hours.p.length) {
    // A backfill's hour that has rollups gets deltas, so a query reads it without a rebuild;
    // one without rollups gets a mark (its first query builds it from the readings anyway).
    const h = spread.hours;
    parts.push(`, spread_hours AS MATERIALIZED (
         SELECT s.k - 1 AS k, s.p, s.m, s.h,
                EXISTS (SELECT 1 FROM metric_rollups r WHERE r.project_id = s.p AND r.metric = s.m AND r.span_s = 3600 AND r.start = s.h) AS built
           FROM unnest(${params.add(h.p)}::bigint[], ${params.add(h.m)}::text[], ${params.add(h.h)}::timestamptz[]) WITH ORDINALITY AS s(p, m, h, k)
       ), spread_marked AS (
         INSERT INTO metric_rollup_marks (project_id, metric, hour) SELECT p, m, h FROM spread_hours WHERE NOT built
       )`);
    const inBuiltHours = (v: HourValues) => `unnest(${params.add(v.i)}::int[], ${params.add(v.k)}::int[], ${params.add(v.v)}::float8[]) AS x(i, k, v)
           JOIN spread_hours s ON s.k = x.k AND s.built
           JOIN ${ordered} ON u.i = x.i + 1
           ${insertedOnly}`;
    if (spread.singles.i.length) {
      parts.push(`, spread_single AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, ${ROLLUP_COLUMNS})
         SELECT ${singleRow('s.m', 'x.v')}
           FROM ${inBuiltHours(spread.singles)}
       )`);
    }
    if (spread.values.i.length) {
      parts.push(`, sx AS (
         SELECT u.p, s.m, date_bin('1 minute', u.t, TIMESTAMPTZ 'epoch') AS t, u.d, x.v, u.t AS ts
           FROM ${inBuiltHours(spread.values)}
       ), spread_delta AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, ${ROLLUP_COLUMNS})
         ${rollupsOfValues('sx')}
       )`);
    }
  }
  return { sql: parts.join(''), markedProjects: [...new Set([...marks.p, ...spread.hours.p])] };
}
