/**
 * The SQL that turns values into rollup rows and merges rollup rows, shared by the reading
 * writer (deltas), the rebuild from readings and the merges (minutes into hours, deltas into
 * minutes). A rollup row is (count, sum, min, max, vals, cnts, devices, dcnts): the value
 * histogram as distinct values ascending with their counts, and the distinct devices
 * ascending with their counts.
 */

/**
 * Rollup rows per (p, m, t) of the values in `x`, a CTE of (p, m, t, d, v): project, metric,
 * bucket start, device, value.
 */
export function rollupsOfValues(x: string): string {
  return `SELECT tot.p, tot.m, tot.t, tot.n AS count, tot.s AS sum, tot.lo AS min, tot.hi AS max, hist.vals, hist.cnts, devs.devices, devs.dcnts
     FROM (SELECT p, m, t, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM ${x} GROUP BY p, m, t) tot
     JOIN (SELECT p, m, t, array_agg(v ORDER BY v) AS vals, array_agg(c ORDER BY v) AS cnts
             FROM (SELECT p, m, t, v, count(*)::int AS c FROM ${x} GROUP BY p, m, t, v) pv GROUP BY p, m, t) hist USING (p, m, t)
     JOIN (SELECT p, m, t, array_agg(d ORDER BY d) AS devices, array_agg(c ORDER BY d) AS dcnts
             FROM (SELECT p, m, t, d, count(*)::int AS c FROM ${x} GROUP BY p, m, t, d) pd GROUP BY p, m, t) devs USING (p, m, t)`;
}

/** Rollup rows per t of the rows in `parts`, a CTE of (t, ROLLUP_COLUMNS). */
export function mergedRollups(parts: string): string {
  return `SELECT tot.t, tot.n AS count, tot.s AS sum, tot.lo AS min, tot.hi AS max, hist.vals, hist.cnts, devs.devices, devs.dcnts
     FROM (SELECT t, sum(count) AS n, sum(sum) AS s, min(min) AS lo, max(max) AS hi FROM ${parts} GROUP BY t) tot
     LEFT JOIN (SELECT t, array_agg(v ORDER BY v) AS vals, array_agg(c ORDER BY v) AS cnts
                  FROM (SELECT x.t, u.v, sum(u.c)::int AS c FROM ${parts} x, unnest(x.vals, x.cnts) AS u(v, c) GROUP BY x.t, u.v) pv
                 GROUP BY t) hist USING (t)
     LEFT JOIN (SELECT t, array_agg(d ORDER BY d) AS devices, array_agg(c ORDER BY d) AS dcnts
                  FROM (SELECT x.t, u.d, sum(u.c)::int AS c FROM ${parts} x, unnest(x.devices, x.dcnts) AS u(d, c) GROUP BY x.t, u.d) pd
                 GROUP BY t) devs USING (t)`;
}

/** The columns of a rollup row, in the order the two functions above give them. */
export const ROLLUP_COLUMNS = 'count, sum, min, max, vals, cnts, devices, dcnts';
