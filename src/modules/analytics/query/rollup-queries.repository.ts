import { Injectable } from '@nestjs/common';
import { SqlParams } from '../../../core/database/sql-params';
import { RollupFreshnessRepository } from '../freshness/rollup-freshness.repository';
import { epochBucket, isNumber, numberAt, projectDevices } from '../metric-sql';
import { EITHER_DELTA_KIND, ROLLUP_COLUMNS } from '../rollup-sql';
import { HOUR_MS, isEmpty, MINUTE_MS, RollupPlan, Span } from '../rollup-plan';
import type { Bucket, Stats } from './answers';

/** SQL of the rows a plan reads: hour and minute rollups, the deltas waiting for them, then the raw readings at the edges. */
interface Pieces {
  rolled: string;
  /** The deltas waiting for the rows of `rolled` outside its edge minutes (those are in `rolled`), as a subquery `x` of (minute, ROLLUP_COLUMNS). */
  waiting: string;
  raw: string;
  /** Placeholders of the project id and the metric. */
  project: string;
  metric: string;
}

/**
 * SQL of the deltas waiting for whole hours, as rows of (minute, `columns`) in the hours
 * `within` takes: their hour deltas, and the minute deltas no hour delta holds (live data's; a
 * backfill's are `in_hour`). Parts of hours read every minute delta instead (docs/analytics.md).
 */
function wholeHourDeltas(project: string, metric: string, columns: string, within: (t: string) => string): string {
  return `SELECT minute, ${columns} FROM metric_rollup_deltas WHERE project_id = ${project} AND metric = ${metric} AND NOT in_hour AND ${within('minute')}
        UNION ALL
       SELECT hour, ${columns} FROM metric_rollup_hour_deltas WHERE project_id = ${project} AND metric = ${metric} AND ${within('hour')}`;
}

/**
 * The query half of analytics over rollups: project-wide aggregate and stats, read from the
 * rollups the freshness half keeps exact, in its snapshot (docs/analytics.md, "Reading rollups").
 */
@Injectable()
export class RollupQueriesRepository {
  constructor(private readonly freshness: RollupFreshnessRepository) {}

  /** Per-bucket count, sum, avg, min and max for an interval of whole minutes. */
  aggregate(projectId: number, metric: string, plan: RollupPlan, intervalSeconds: number, now = Date.now()): Promise<Bucket[]> {
    const q = new SqlParams();
    const { rolled, waiting, raw } = this.pieces(q, projectId, metric, plan, now);
    const i = q.add(intervalSeconds);
    // An edge minute that loses some readings (w < 0) gets its min and max from its histogram
    // without them, its count and sum by subtraction (its row and its waiting deltas together).
    const sql = `WITH rolled AS MATERIALIZED (${rolled}),
       raw AS MATERIALIZED (${raw}),
       lost AS (SELECT date_bin('1 minute', t, TIMESTAMPTZ 'epoch') AS t, v FROM raw WHERE w < 0),
       edge_hist AS (
         SELECT t, v FROM (
           SELECT r.t, u.v, u.c FROM rolled r, unnest(r.vals, r.cnts) AS u(v, c) WHERE r.edge
           UNION ALL SELECT t, v, -1 FROM lost
         ) h GROUP BY t, v HAVING sum(c) > 0
       ),
       edges AS (
         SELECT r.t, r.count - coalesce(l.n, 0) AS count, r.sum - coalesce(l.s, 0) AS sum, mm.lo AS min, mm.hi AS max
           FROM (SELECT t, sum(count) AS count, sum(sum) AS sum FROM rolled WHERE edge GROUP BY t) r
           JOIN (SELECT t, min(v) AS lo, max(v) AS hi FROM edge_hist GROUP BY t) mm USING (t)
           LEFT JOIN (SELECT t, count(*) AS n, sum(v) AS s FROM lost GROUP BY t) l USING (t)
       ),
       parts AS (
         SELECT t, count, sum, min, max FROM rolled WHERE NOT edge
         UNION ALL SELECT x.minute, x.count, x.sum, x.min, x.max FROM ${waiting}
         UNION ALL SELECT t, 1, v, v, v FROM raw WHERE w > 0
         UNION ALL SELECT t, count, sum, min, max FROM edges
       )
       SELECT ${epochBucket('t', i)} AS start, sum(count)::bigint AS count,
              sum(sum) AS sum, sum(sum) / sum(count)::float8 AS avg, min(min) AS min, max(max) AS max
         FROM parts GROUP BY 1 ORDER BY 1`;
    return this.freshness.current(projectId, metric, plan.refresh, (tx) => tx.query(sql, q.values));
  }

  /** count, min, max, mean, nearest-rank p50/p95/p99 (as percentile_disc) and distinct devices. */
  async stats(projectId: number, metric: string, plan: RollupPlan, now = Date.now()): Promise<Stats> {
    const q = new SqlParams();
    const pieces = this.pieces(q, projectId, metric, plan, now);
    const devices = this.deviceCount(q, plan, pieces);
    // percentile_disc takes the row at position max(1, ceil(p * n)): here the smallest value
    // whose cumulative count reaches it.
    const rank = (p: number) => `(SELECT min(v) FROM ranked WHERE cum >= greatest(1, ceil(${p}::float8 * n.n)))`;
    const sql = `WITH rolled AS MATERIALIZED (${pieces.rolled}),
       raw AS MATERIALIZED (${pieces.raw}),
       hist AS (
         SELECT v, sum(c)::bigint AS c FROM (
           SELECT u.v, u.c FROM rolled, unnest(rolled.vals, rolled.cnts) AS u(v, c)
           UNION ALL SELECT u.v, u.c FROM ${pieces.waiting}, unnest(x.vals, x.cnts) AS u(v, c)
           UNION ALL SELECT v, w FROM raw
         ) h GROUP BY v HAVING sum(c) > 0
       ),
       ranked AS (SELECT v, sum(c) OVER (ORDER BY v) AS cum FROM hist),
       n AS (SELECT coalesce(sum(c), 0)::bigint AS n FROM hist)
       SELECT n.n AS count, (SELECT min(v) FROM hist) AS min, (SELECT max(v) FROM hist) AS max,
              ((SELECT coalesce(sum(sum), 0) FROM rolled) + (SELECT coalesce(sum(x.sum), 0) FROM ${pieces.waiting})
                + (SELECT coalesce(sum(w * v), 0) FROM raw)) / nullif(n.n, 0)::float8 AS mean,
              ${rank(0.5)} AS p50,
              ${rank(0.95)} AS p95,
              ${rank(0.99)} AS p99,
              ${devices} AS unique_devices
         FROM n`;
    const [row] = await this.freshness.current(projectId, metric, plan.refresh, (tx) => tx.query(sql, q.values));
    return { ...row, count: Number(row.count) };
  }

  /**
   * SQL for the distinct devices with readings in the plan's range (docs/analytics.md, "Counting
   * distinct devices"). Across hours, from the window's hour rows only, each part by a range of
   * the primary key: the whole hours' devices as the union of their bitmaps, and those the union
   * lacks among the first and last hours' devices whose last (first) reading there is inside the
   * range (and of whole hours without a bitmap, and of the deltas waiting for these hours).
   * Within one hour, from the minute rows (with their waiting deltas) and edges
   * the values come from, less the devices only the rest of an edge minute holds.
   */
  private deviceCount(q: SqlParams, plan: RollupPlan, { project, metric, waiting }: Pieces): string {
    const { from, to: end } = plan.range;
    const first = Math.floor(from / HOUR_MS) * HOUR_MS;
    const last = Math.floor((end - 1) / HOUR_MS) * HOUR_MS;
    if (first === last || plan.refresh.from > first || plan.refresh.to < last + HOUR_MS) {
      return `(SELECT count(*) FROM (
                 SELECT d FROM (SELECT u.d, u.c FROM rolled, unnest(rolled.devices, rolled.dcnts) AS u(d, c)
                                UNION ALL SELECT u.d, u.c FROM ${waiting}, unnest(x.devices, x.dcnts) AS u(d, c)
                                UNION ALL SELECT device_id, w FROM raw) x
                  GROUP BY d HAVING sum(c) > 0) y)::int`;
    }
    const [h0, h1] = [Math.ceil(from / HOUR_MS) * HOUR_MS, Math.floor(end / HOUR_MS) * HOUR_MS];
    const lead = q.add(from > first ? new Date(first) : null);
    const trail = q.add(end < last + HOUR_MS ? new Date(last) : null);
    const [lo, hi] = [q.add(new Date(from)), q.add(new Date(end))];
    const hour = `h.project_id = ${project} AND h.metric = ${metric} AND h.span_s = 3600 AND h.count > 0`;
    const hourDeltas = (where: (t: string) => string) => `(${wholeHourDeltas(project, metric, 'devices, dfirst, dlast', where)}) x`;
    const within = (h: string) => (t: string) => `${t} >= ${h}::timestamptz AND ${t} < ${h}::timestamptz + interval '1 hour'`;
    // The deltas waiting for those hours, and readings newer than the rollups, in the raw edges, count too.
    const edges = `SELECT u.d FROM metric_rollups h, unnest(h.devices, h.dlast) AS u(d, l)
                     WHERE ${hour} AND h.start = ${lead}::timestamptz AND u.l >= ${lo}
                    UNION ALL SELECT u.d FROM ${hourDeltas(within(lead))}, unnest(x.devices, x.dlast) AS u(d, l) WHERE u.l >= ${lo}
                    UNION ALL SELECT u.d FROM metric_rollups h, unnest(h.devices, h.dfirst) AS u(d, f)
                     WHERE ${hour} AND h.start = ${trail}::timestamptz AND u.f < ${hi}
                    UNION ALL SELECT u.d FROM ${hourDeltas(within(trail))}, unnest(x.devices, x.dfirst) AS u(d, f) WHERE u.f < ${hi}
                    UNION ALL SELECT device_id FROM raw WHERE w > 0`;
    if (h0 >= h1) return `(SELECT count(DISTINCT d) FROM (
                    ${edges}) x)::int`;
    const [w0, w1] = [q.add(new Date(h0)), q.add(new Date(h1))];
    const whole = `${hour} AND h.start >= ${w0} AND h.start < ${w1}`;
    // bit_or needs bitmaps of one length: each is padded with zeros to the longest (a device
    // whose ordinal is past an hour's highest has no bit there). The edges' devices find their
    // ordinals by a hash join with the project's devices: the planner cannot estimate how many
    // an unnest gives, and when an edge hour holds most of the devices, an index probe per
    // device costs more than reading them all.
    return `(WITH bits AS MATERIALIZED (SELECT h.device_bits AS b FROM metric_rollups h WHERE ${whole} AND h.device_bits IS NOT NULL),
                  seen AS (SELECT coalesce(bit_or(overlay(z.zeros PLACING bits.b FROM 1)), B'') AS b
                             FROM bits, (SELECT repeat('0', max(length(b)))::varbit AS zeros FROM bits) z),
                  others AS (SELECT DISTINCT d FROM (
                    SELECT u.d FROM metric_rollups h, unnest(h.devices) AS u(d) WHERE ${whole} AND h.device_bits IS NULL
                    UNION ALL SELECT u.d FROM ${hourDeltas((t) => `${t} >= ${w0} AND ${t} < ${w1}`)}, unnest(x.devices) AS u(d)
                    UNION ALL ${edges}) x),
                  ordinals AS MATERIALIZED (SELECT id, ordinal FROM devices WHERE project_id = ${project})
             SELECT bit_count(seen.b) + (SELECT count(*) FROM others o LEFT JOIN ordinals dv ON dv.id = o.d
                                          WHERE CASE WHEN dv.ordinal < length(seen.b) THEN get_bit(seen.b, dv.ordinal) = 0 ELSE true END)
               FROM seen)::int`;
  }

  /**
   * SQL for the plan's rollup rows (t, count, sum, min, max, vals, cnts, devices, dcnts, edge)
   * and raw readings (t, device_id, v, w). A partial minute at either end is read raw (w = 1)
   * when it is the shorter part of its minute (counting time up to `now` only); otherwise its
   * minute's row is taken (edge) less the readings of the rest of the minute (w = -1), so a
   * query ending now, in the middle of a busy minute, reads only the few readings after its end.
   */
  private pieces(q: SqlParams, projectId: number, metric: string, plan: RollupPlan, now: number): Pieces {
    const d = (ms: number) => new Date(ms);
    /** How long a span is up to now: the rest of the current minute holds no readings yet. */
    const past = (s: Span) => Math.max(0, Math.min(s.to, now) - s.from);
    /** `minute` is the start of the one minute row the read lies in, when that row is current. */
    const reads: { span: Span; w: 1 | -1; minute: number | null }[] = [];
    const edgeMinutes: Date[] = [];
    for (const span of plan.raw.filter((s) => !isEmpty(s))) {
      const minute = Math.floor(span.from / MINUTE_MS) * MINUTE_MS;
      const rest = [{ from: minute, to: span.from }, { from: span.to, to: minute + MINUTE_MS }].filter((x) => !isEmpty(x));
      const fresh = minute >= plan.refresh.from && minute + MINUTE_MS <= plan.refresh.to && span.to <= minute + MINUTE_MS;
      if (!fresh || past(span) <= rest.reduce((n, x) => n + past(x), 0)) {
        reads.push({ span, w: 1, minute: fresh ? minute : null });
        continue;
      }
      edgeMinutes.push(d(minute));
      for (const x of rest) reads.push({ span: x, w: -1, minute });
    }
    const [p, m] = [q.add(projectId), q.add(metric)];
    const [a, b] = plan.minutes;
    const [h0, h1, a0, a1, b0, b1] = [plan.hours.from, plan.hours.to, a.from, a.to, b.from, b.to].map((ms) => q.add(d(ms)));
    const edges = q.add(edgeMinutes);
    const minutes = (t: string) => `((${t} >= ${a0} AND ${t} < ${a1}) OR (${t} >= ${b0} AND ${t} < ${b1}) OR ${t} = ANY(${edges}::timestamptz[]))`;
    // The delta rows that wait for these rollups (the freshness half let them wait: see
    // RollupFreshnessRepository.current) are minute rows of their own, beside the rollups:
    // those of the edge minutes in `rolled`, the others (all of a backfill's, say) read apart,
    // column by column where they are needed, not carried through `rolled`.
    const rolled = `SELECT start AS t, count, sum, min, max, vals, cnts, devices, dcnts,
              (span_s = 60 AND start = ANY(${edges}::timestamptz[])) AS edge
         FROM metric_rollups
        WHERE project_id = ${p} AND metric = ${m} AND count > 0
          AND ((span_s = 3600 AND start >= ${h0} AND start < ${h1}) OR (span_s = 60 AND ${minutes('start')}))
        UNION ALL
       SELECT minute, count, sum, min, max, vals, cnts, devices, dcnts, true
         FROM metric_rollup_deltas WHERE project_id = ${p} AND metric = ${m} AND ${EITHER_DELTA_KIND} AND minute = ANY(${edges}::timestamptz[])`;
    // Whole hours take their hour deltas and the minute deltas none holds; parts of hours take
    // every minute delta (a backfill's are `in_hour`: their hour rows or hour deltas hold them too).
    const waiting = `(${wholeHourDeltas(p, m, ROLLUP_COLUMNS, (t) => `${t} >= ${h0} AND ${t} < ${h1}`)}
        UNION ALL
       SELECT minute, ${ROLLUP_COLUMNS} FROM metric_rollup_deltas
        WHERE project_id = ${p} AND metric = ${m} AND ${EITHER_DELTA_KIND} AND ${minutes('minute')} AND minute <> ALL(${edges}::timestamptz[])) x`;
    // Under a minute each: read device by device through the (device_id, ts) index. In a minute
    // of the refreshed hours, whose row and waiting deltas are current in this snapshot, only
    // the devices they list have values of the metric there (none: none); elsewhere, every
    // device of the project.
    const devicesOf = (minute: number | null) => {
      if (minute === null) return projectDevices(p);
      const at = q.add(d(minute));
      return `r.device_id = ANY (ARRAY(SELECT unnest(devices) FROM metric_rollups WHERE project_id = ${p} AND metric = ${m} AND span_s = 60 AND start = ${at}
                                       UNION ALL SELECT unnest(devices) FROM metric_rollup_deltas
                                                  WHERE project_id = ${p} AND metric = ${m} AND ${EITHER_DELTA_KIND} AND minute = ${at}))`;
    };
    const raw = reads.map(
      ({ span, w, minute }) => `SELECT r.ts AS t, r.device_id, ${numberAt('r.payload', `${m}::text`)} AS v, ${w} AS w FROM readings r
          WHERE ${devicesOf(minute)} AND r.project_id = ${p} AND r.ts >= ${q.add(d(span.from))} AND r.ts < ${q.add(d(span.to))}
            AND ${isNumber('r.payload', `${m}::text`)}`,
    );
    // First, so its names hold when no reading is needed.
    raw.unshift(`SELECT NULL::timestamptz AS t, NULL::bigint AS device_id, NULL::float8 AS v, 0 AS w WHERE false`);
    return { rolled, waiting, raw: raw.join(`
         UNION ALL `), project: p, metric: m };
  }
}
