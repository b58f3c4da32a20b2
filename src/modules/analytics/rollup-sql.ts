/**
 * The SQL that turns values into rollup rows and merges rollup rows, shared by the reading
 * writer's deltas, the rebuild from readings and the merges (minutes into hours, deltas into
 * minutes). A rollup row is (count, sum, min, max, vals, cnts, devices, dcnts, dfirst, dlast):
 * docs/analytics.md, "What a rollup row holds".
 */

/**
 * Rollup rows per (p, m, t) of the values in `x`, a CTE of (p, m, t, d, v, ts): project,
 * metric, bucket start, device, value, event time. One grouping over the union of the
 * per-value and the per-device groups, never a join of aggregates: with thousands of (p, m, t)
 * groups the planner cannot estimate, a join of three aggregates became a nested loop
 * (docs/ingest.md, "Where the cost went"). Grouped in the "C" collation,
 * which only orders bytes: metric names need equality here, not a language's order.
 */
export function rollupsOfValues(x: string): string {
  return `SELECT p, m, t, sum(n)::bigint AS count, sum(s) AS sum, min(v) AS min, max(v) AS max,
                      array_agg(v ORDER BY v) FILTER (WHERE d IS NULL) AS vals, array_agg(c ORDER BY v) FILTER (WHERE d IS NULL) AS cnts,
                      array_agg(d ORDER BY d) FILTER (WHERE d IS NOT NULL) AS devices, array_agg(c ORDER BY d) FILTER (WHERE d IS NOT NULL) AS dcnts,
                      array_agg(f ORDER BY d) FILTER (WHERE d IS NOT NULL) AS dfirst, array_agg(l ORDER BY d) FILTER (WHERE d IS NOT NULL) AS dlast
          FROM (SELECT p, m COLLATE "C" AS m, t, v, count(*)::int AS c, count(*) AS n, sum(v) AS s, NULL::bigint AS d, NULL::timestamptz AS f,
                       NULL::timestamptz AS l
                  FROM ${x} GROUP BY p, m, t, v
                UNION ALL
                SELECT p, m COLLATE "C", t, NULL, count(*)::int, 0, 0, d, min(ts), max(ts) FROM ${x} GROUP BY p, m, t, d) g
         GROUP BY p, m, t`;
}

/** Rollup rows per t of the rows in `parts`, a CTE of (t, ROLLUP_COLUMNS). */
export function mergedRollups(parts: string): string {
  return `SELECT tot.t, tot.n AS count, tot.s AS sum, tot.lo AS min, tot.hi AS max, hist.vals, hist.cnts, devs.devices, devs.dcnts,
                      devs.dfirst, devs.dlast
          FROM (SELECT t, sum(count) AS n, sum(sum) AS s, min(min) AS lo, max(max) AS hi FROM ${parts} GROUP BY t) tot
          LEFT JOIN (SELECT t, array_agg(v ORDER BY v) AS vals, array_agg(c ORDER BY v) AS cnts
                       FROM (SELECT x.t, u.v, sum(u.c)::int AS c FROM ${parts} x, unnest(x.vals, x.cnts) AS u(v, c) GROUP BY x.t, u.v) pv
                      GROUP BY t) hist USING (t)
          LEFT JOIN (SELECT t, array_agg(d ORDER BY d) AS devices, array_agg(c ORDER BY d) AS dcnts,
                            array_agg(f ORDER BY d) AS dfirst, array_agg(l ORDER BY d) AS dlast
                       FROM (SELECT x.t, u.d, sum(u.c)::int AS c, min(u.f) AS f, max(u.l) AS l
                               FROM ${parts} x, unnest(x.devices, x.dcnts, x.dfirst, x.dlast) AS u(d, c, f, l) GROUP BY x.t, u.d) pd
                      GROUP BY t) devs USING (t)`;
}

/**
 * Minute deltas of either kind (live data's, and a backfill's `in_hour`), as a condition the
 * deltas' index (project_id, metric, in_hour, minute) takes: reads of a minute's deltas say it,
 * so the index finds them without walking the project's other kind.
 */
export const EITHER_DELTA_KIND = 'in_hour IN (false, true)';

/** The columns of a rollup row, in the order the two functions above give them. */
export const ROLLUP_COLUMNS = 'count, sum, min, max, vals, cnts, devices, dcnts, dfirst, dlast';

/**
 * The device bitmap per t of the rows in `rows`, a CTE of (t, devices), for hour rows: bit i
 * (from the left) set iff the project's device with ordinal i is in `devices`, as long as the
 * highest ordinal there; null when one of them is no device of the project (any more).
 * docs/analytics.md, "Counting distinct devices".
 */
export function deviceBitsOf(rows: string, project: string): string {
  // count(*), not cardinality(devices): an array carried into the window would be read whole once per element.
  return `SELECT t, CASE WHEN count(o) = count(*) THEN string_agg(repeat('0', o - prev - 1) || '1', '' ORDER BY o)::varbit END AS device_bits
          FROM (SELECT r.t, d.ordinal AS o, lag(d.ordinal, 1, -1) OVER (PARTITION BY r.t ORDER BY d.ordinal) AS prev
                  FROM ${rows} r CROSS JOIN unnest(r.devices) AS u(id)
                  LEFT JOIN devices d ON d.id = u.id AND d.project_id = ${project}) x
         GROUP BY t`;
}
