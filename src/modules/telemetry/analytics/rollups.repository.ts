import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ADVISORY_LOCKS } from '../../../core/database/advisory-locks';
import type { Bucket, Stats } from '../readings.repository';
import { epochBucket, isNumber, numberAt } from './metric-sql';
import { HOUR_MS, hoursOf, isEmpty, mergeSpans, MINUTE_MS, RollupPlan, Span } from './rollup-plan';
import { mergedRollups, ROLLUP_COLUMNS, rollupsOfValues } from './rollup-sql';

/** The per-project rebuild lock (two-key form: namespace, project); the device-delete trigger takes it too. */
const PROJECT_LOCK_NAMESPACE = ADVISORY_LOCKS.projectRollups;
/** Rebuilds hold it shared; retention and mark compaction hold it alone (one-key form). */
const ALL_PROJECTS_LOCK = ADVISORY_LOCKS.allProjectRollups;
/** A rebuild of more hours than this reads the project's readings by scanning, not device by device. */
const MAX_PROBED_HOURS = 2;

/**
 * A project's readings of a short span, read through the (device_id, ts) index: one descent
 * per device of the project (no index leads with project_id; ingestion keeps just one).
 */
const PROJECT_DEVICES = 'r.device_id = ANY (ARRAY(SELECT id FROM devices WHERE project_id = $1))';

/** Rows the rollup path reads: hour and minute rollups, then the raw readings at the edges. */
interface Pieces {
  rolled: string;
  raw: string;
  params: unknown[];
}

/**
 * Minute and hour rollups of one metric per project (migration 1764000000004 explains how they
 * stay exact). Everything here is project-wide: a query by device or tag reads readings.
 */
@Injectable()
export class RollupsRepository {
  /** Per project, the tail of this process's catch-ups (see `consistent`). */
  private readonly queues = new Map<number, Promise<void>>();

  constructor(private readonly ds: DataSource) {}

  /**
   * Runs `read` in a snapshot where the rollups of the whole hours in `span` agree exactly with
   * the readings: then an edge may be read as a minute's rollup less some of its readings.
   * Usually nothing changed and a REPEATABLE READ snapshot without locks will do; otherwise
   * the project's lock is taken, the hours without rollups are built, the marked ones rebuilt
   * and the deltas merged, and `read` runs in that same transaction.
   */
  private async consistent<T>(projectId: number, metric: string, span: Span, read: (tx: EntityManager) => Promise<T>): Promise<T> {
    const hours = hoursOf(span);
    const bounds = [projectId, metric, new Date(span.from), new Date(span.to)];
    const clean = await this.inTransaction(async (tx) => ((await this.isCurrent(tx, hours.length, bounds)) ? read(tx) : null));
    if (clean !== null) return clean;
    // One catch-up per project at a time in this process: the others wait here, not on the
    // advisory lock with a pooled connection each.
    return this.serially(projectId, () =>
      this.inTransaction(async (tx) => {
        await this.catchUp(tx, projectId, metric, hours, bounds);
        return read(tx);
      }, projectId),
    ) as Promise<T>;
  }

  /**
   * Runs `work` in a REPEATABLE READ transaction on a connection of its own, committing what
   * it returns or rolling back on null. With `lockProject`, that project's lock (and the
   * all-projects lock, shared) is held around the transaction: taken as the session's before
   * it, so its snapshot (taken at its first statement) sees all the previous holder committed.
   */
  private async inTransaction<T>(work: (tx: EntityManager) => Promise<T | null>, lockProject?: number): Promise<T | null> {
    const runner = this.ds.createQueryRunner();
    const locked = lockProject !== undefined;
    await runner.connect();
    try {
      if (locked) {
        await runner.query(`SELECT pg_advisory_lock_shared($1), pg_advisory_lock($2, ($3::bigint % 2147483647)::int)`, [
          ALL_PROJECTS_LOCK,
          PROJECT_LOCK_NAMESPACE,
          lockProject,
        ]);
      }
      try {
        await runner.startTransaction('REPEATABLE READ');
        try {
          await runner.query(`SET LOCAL work_mem = '64MB'`);
          const out = await work(runner.manager);
          if (out === null) await runner.rollbackTransaction();
          else await runner.commitTransaction();
          return out;
        } catch (err) {
          if (runner.isTransactionActive) await runner.rollbackTransaction();
          throw err;
        }
      } finally {
        if (locked) {
          await runner.query(`SELECT pg_advisory_unlock($1, ($2::bigint % 2147483647)::int), pg_advisory_unlock_shared($3)`, [
            PROJECT_LOCK_NAMESPACE,
            lockProject,
            ALL_PROJECTS_LOCK,
          ]);
        }
      }
    } finally {
      await runner.release();
    }
  }

  /** Runs `work` after every earlier call with the same key has settled. */
  private serially<T>(key: number, work: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(key) ?? Promise.resolve()).then(work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  /** Whether every hour of the span has rollups and no mark or delta waits for them. */
  private async isCurrent(tx: EntityManager, hours: number, bounds: unknown[]): Promise<boolean> {
    if (!hours) return true;
    const [state] = await tx.query(
      `SELECT (SELECT count(*)::int FROM metric_rollups
                WHERE project_id = $1 AND metric = $2 AND span_s = 3600 AND start >= $3 AND start < $4) AS built,
              EXISTS (SELECT 1 FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4)
           OR EXISTS (SELECT 1 FROM metric_rollup_deltas WHERE project_id = $1 AND metric = $2 AND minute >= $3 AND minute < $4) AS changed`,
      bounds,
    );
    return state.built === hours && !state.changed;
  }

  /**
   * In one snapshot: the marks and deltas it takes are exactly those of the readings it sees,
   * so a reading is counted once, by a rebuild or by its delta.
   */
  private async catchUp(tx: EntityManager, projectId: number, metric: string, hours: number[], bounds: unknown[]): Promise<void> {
    const marked: { hour: Date }[] = await tx.query(
      `WITH taken AS (DELETE FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4 RETURNING hour)
       SELECT DISTINCT hour FROM taken`,
      bounds,
    );
    const built: { start: Date }[] = await tx.query(
      `SELECT start FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 3600 AND start >= $3 AND start < $4`,
      bounds,
    );
    const have = new Set(built.map((r) => r.start.getTime()));
    const whole = new Set(hours.filter((h) => !have.has(h)));
    for (const r of marked) whole.add(r.hour.getTime());
    const rebuilt = [...whole].sort((a, b) => a - b).map((h) => new Date(h));
    if (rebuilt.length) await this.rebuild(tx, projectId, metric, rebuilt);
    // Deltas of rebuilt hours are in the rebuild already; the others merge into their minutes.
    const merged: { hour: Date }[] = await tx.query(
      `WITH taken AS (
         DELETE FROM metric_rollup_deltas WHERE project_id = $1 AND metric = $2 AND minute >= $3 AND minute < $4
         RETURNING minute AS t, ${ROLLUP_COLUMNS}
       ), kept AS (
         SELECT * FROM taken WHERE date_bin('1 hour', t, TIMESTAMPTZ 'epoch') <> ALL($5::timestamptz[])
       ), old AS (
         DELETE FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 60 AND start IN (SELECT t FROM kept)
         RETURNING start AS t, ${ROLLUP_COLUMNS}
       ), parts AS (SELECT * FROM kept UNION ALL SELECT * FROM old),
       merged AS (
         INSERT INTO metric_rollups (project_id, metric, span_s, start, ${ROLLUP_COLUMNS})
         SELECT $1, $2, 60, t, ${ROLLUP_COLUMNS} FROM (${mergedRollups('parts')}) m
         RETURNING start
       )
       SELECT DISTINCT date_bin('1 hour', start, TIMESTAMPTZ 'epoch') AS hour FROM merged`,
      [...bounds, rebuilt],
    );
    if (merged.length) await this.rebuildHours(tx, projectId, metric, merged.map((r) => r.hour));
  }

  /** Per-bucket count, sum, avg, min and max for an interval of whole minutes. */
  async aggregate(projectId: number, metric: string, plan: RollupPlan, intervalSeconds: number): Promise<Bucket[]> {
    const { rolled, raw, params } = this.pieces(projectId, metric, plan);
    params.push(intervalSeconds);
    const i = `$${params.length}`;
    // An edge minute that loses some readings (w < 0) gets its min and max from its histogram
    // without them, its count and sum by subtraction.
    return this.consistent(projectId, metric, plan.refresh, (tx) => tx.query(
      `WITH rolled AS MATERIALIZED (${rolled}), raw AS MATERIALIZED (${raw}),
       lost AS (SELECT date_bin('1 minute', t, TIMESTAMPTZ 'epoch') AS t, v FROM raw WHERE w < 0),
       edge_hist AS (
         SELECT t, v FROM (
           SELECT r.t, u.v, u.c FROM rolled r, unnest(r.vals, r.cnts) AS u(v, c) WHERE r.edge
           UNION ALL SELECT t, v, -1 FROM lost
         ) h GROUP BY t, v HAVING sum(c) > 0
       ),
       edges AS (
         SELECT r.t, r.count - coalesce(l.n, 0) AS count, r.sum - coalesce(l.s, 0) AS sum, mm.lo AS min, mm.hi AS max
           FROM rolled r
           JOIN (SELECT t, min(v) AS lo, max(v) AS hi FROM edge_hist GROUP BY t) mm USING (t)
           LEFT JOIN (SELECT t, count(*) AS n, sum(v) AS s FROM lost GROUP BY t) l USING (t)
          WHERE r.edge
       ),
       parts AS (
         SELECT t, count, sum, min, max FROM rolled WHERE NOT edge
         UNION ALL SELECT t, 1, v, v, v FROM raw WHERE w > 0
         UNION ALL SELECT t, count, sum, min, max FROM edges
       )
       SELECT ${epochBucket('t', i)} AS start, sum(count)::bigint AS count,
              sum(sum) AS sum, sum(sum) / sum(count)::float8 AS avg, min(min) AS min, max(max) AS max
         FROM parts GROUP BY 1 ORDER BY 1`,
      params,
    ));
  }

  /** count, min, max, mean, nearest-rank p50/p95/p99 (as percentile_disc) and distinct devices. */
  async stats(projectId: number, metric: string, plan: RollupPlan): Promise<Stats> {
    const { rolled, raw, params } = this.pieces(projectId, metric, plan);
    const devices = this.deviceCount(plan, params);
    // percentile_disc takes the row at position max(1, ceil(p * n)): here the smallest value
    // whose cumulative count reaches it.
    const rank = (p: number) => `(SELECT min(v) FROM ranked WHERE cum >= greatest(1, ceil(${p}::float8 * n.n)))`;
    const [row] = await this.consistent(projectId, metric, plan.refresh, (tx) => tx.query(
      `WITH rolled AS MATERIALIZED (${rolled}), raw AS MATERIALIZED (${raw}),
       hist AS (
         SELECT v, sum(c)::bigint AS c FROM (
           SELECT u.v, u.c FROM rolled, unnest(rolled.vals, rolled.cnts) AS u(v, c)
           UNION ALL SELECT v, w FROM raw
         ) h GROUP BY v HAVING sum(c) > 0
       ),
       ranked AS (SELECT v, sum(c) OVER (ORDER BY v) AS cum FROM hist),
       n AS (SELECT coalesce(sum(c), 0)::bigint AS n FROM hist)
       SELECT n.n AS count, (SELECT min(v) FROM hist) AS min, (SELECT max(v) FROM hist) AS max,
              ((SELECT coalesce(sum(sum), 0) FROM rolled) + (SELECT coalesce(sum(w * v), 0) FROM raw)) / nullif(n.n, 0)::float8 AS mean,
              ${rank(0.5)} AS p50, ${rank(0.95)} AS p95, ${rank(0.99)} AS p99,
              ${devices} AS unique_devices
         FROM n`,
      params,
    ));
    return { ...row, count: Number(row.count) };
  }

  /**
   * SQL for the distinct devices with readings in the plan's range. Across hours, from hour
   * rows: the whole hours' devices, and in the first and last hour those whose last (first)
   * reading there is inside the range: a few rows instead of every minute's. Within one hour,
   * from the minute rows and edges the values come from, less the devices only the rest of an
   * edge minute holds.
   */
  private deviceCount(plan: RollupPlan, params: unknown[]): string {
    const { from, to: end } = plan.range;
    const first = Math.floor(from / HOUR_MS) * HOUR_MS;
    const last = Math.floor((end - 1) / HOUR_MS) * HOUR_MS;
    if (first === last || plan.refresh.from > first || plan.refresh.to < last + HOUR_MS) {
      return `(SELECT count(*) FROM (
                 SELECT d FROM (SELECT u.d, u.c FROM rolled, unnest(rolled.devices, rolled.dcnts) AS u(d, c)
                                UNION ALL SELECT device_id, w FROM raw) x
                  GROUP BY d HAVING sum(c) > 0) y)::int`;
    }
    const at = params.length;
    params.push(new Date(Math.ceil(from / HOUR_MS) * HOUR_MS), new Date(Math.floor(end / HOUR_MS) * HOUR_MS));
    params.push(from > first ? new Date(first) : null, end < last + HOUR_MS ? new Date(last) : null, new Date(from), new Date(end));
    const [w0, w1, lead, trail, lo, hi] = [1, 2, 3, 4, 5, 6].map((k) => `$${at + k}`);
    // Readings newer than the rollups, in the raw edges, count too.
    return `(SELECT count(DISTINCT d) FROM (
               SELECT u.d FROM metric_rollups h, unnest(h.devices, h.dfirst, h.dlast) AS u(d, f, l)
                WHERE h.project_id = $1 AND h.metric = $2 AND h.span_s = 3600 AND h.count > 0
                  AND ((h.start >= ${w0} AND h.start < ${w1})
                    OR (h.start = ${lead}::timestamptz AND u.l >= ${lo}) OR (h.start = ${trail}::timestamptz AND u.f < ${hi}))
               UNION ALL SELECT device_id FROM raw WHERE w > 0) x)::int`;
  }

  /**
   * After retention dropped readings before `cutoff`: forgets the rollups that counted them,
   * and the marks and deltas that no longer matter (hours without rollups get built from the
   * readings anyway; one mark per hour is enough). Alone under the all-projects lock, so no rebuild is in flight.
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
        `DELETE FROM metric_rollup_deltas m
          WHERE NOT EXISTS (SELECT 1 FROM metric_rollups r WHERE r.project_id = m.project_id AND r.metric = m.metric AND r.span_s = 3600
                               AND r.start = date_bin('1 hour', m.minute, TIMESTAMPTZ 'epoch'))`,
      );
      await tx.query(
        `DELETE FROM metric_rollup_marks a USING metric_rollup_marks b
          WHERE a.project_id = b.project_id AND a.metric = b.metric AND a.hour = b.hour AND a.ctid < b.ctid`,
      );
    });
  }

  /** Replaces the minute and hour rollups of `hours` (ascending) with ones built from the readings. */
  private async rebuild(tx: EntityManager, projectId: number, metric: string, hours: Date[]): Promise<void> {
    const spans = mergeSpans(hours.map((h) => ({ from: h.getTime(), to: h.getTime() + HOUR_MS })));
    const los = spans.map((s) => new Date(s.from));
    const his = spans.map((s) => new Date(s.to));
    const base = [projectId, metric, los, his];
    await tx.query(
      `DELETE FROM metric_rollups USING unnest($3::timestamptz[], $4::timestamptz[]) AS g(lo, hi)
        WHERE project_id = $1 AND metric = $2 AND span_s = 60 AND start >= g.lo AND start < g.hi`,
      base,
    );
    // A few hours are read device by device through the (device_id, ts) index; more, by
    // scanning the project's readings of the whole range.
    const probed = hours.length <= MAX_PROBED_HOURS;
    const source = probed
      ? `unnest($3::timestamptz[], $4::timestamptz[]) AS g(lo, hi)
           CROSS JOIN LATERAL (SELECT r.ts, r.device_id, r.payload FROM readings r
                                WHERE ${PROJECT_DEVICES} AND r.project_id = $1 AND r.ts >= g.lo AND r.ts < g.hi) r
          WHERE true`
      : `readings r WHERE r.project_id = $1 AND r.ts >= $5 AND r.ts < $6
            AND EXISTS (SELECT 1 FROM unnest($3::timestamptz[], $4::timestamptz[]) AS g(lo, hi) WHERE r.ts >= g.lo AND r.ts < g.hi)`;
    await tx.query(
      `WITH x AS MATERIALIZED (
         SELECT $1::bigint AS p, $2::text AS m, date_bin('1 minute', r.ts, TIMESTAMPTZ 'epoch') AS t, r.device_id AS d,
                ${numberAt('r.payload', '$2::text')} AS v, r.ts
           FROM ${source} AND ${isNumber('r.payload', '$2::text')}
       )
       INSERT INTO metric_rollups (project_id, metric, span_s, start, ${ROLLUP_COLUMNS})
       SELECT p, m, 60, t, ${ROLLUP_COLUMNS} FROM (${rollupsOfValues('x')}) r`,
      probed ? base : [...base, los[0], his[his.length - 1]],
    );
    await this.rebuildHours(tx, projectId, metric, hours);
  }

  /** Replaces the hour rows of `hours` with the merge of their minute rows (count 0 for none). */
  private async rebuildHours(tx: EntityManager, projectId: number, metric: string, hours: Date[]): Promise<void> {
    const ms = hours.map((h) => h.getTime());
    const range = [new Date(Math.min(...ms)), new Date(Math.max(...ms) + HOUR_MS)];
    await tx.query(`DELETE FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 3600 AND start = ANY($3::timestamptz[])`, [
      projectId,
      metric,
      hours,
    ]);
    await tx.query(
      `WITH parts AS MATERIALIZED (
         SELECT date_bin('1 hour', start, TIMESTAMPTZ 'epoch') AS t, ${ROLLUP_COLUMNS}
           FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 60 AND start >= $4 AND start < $5
            AND date_bin('1 hour', start, TIMESTAMPTZ 'epoch') IN (SELECT unnest($3::timestamptz[]))
       )
       INSERT INTO metric_rollups (project_id, metric, span_s, start, ${ROLLUP_COLUMNS})
       SELECT $1, $2, 3600, hs.t, ${ROLLUP_COLUMNS.split(', ').map((c) => (c === 'count' ? 'coalesce(m.count, 0)' : `m.${c}`)).join(', ')}
         FROM unnest($3::timestamptz[]) AS hs(t) LEFT JOIN (${mergedRollups('parts')}) m USING (t)`,
      [projectId, metric, hours, ...range],
    );
  }

  /**
   * SQL for the plan's rollup rows (t, count, sum, min, max, vals, cnts, devices, dcnts, edge)
   * and raw readings (t, device_id, v, w). A partial minute at either end is read raw (w = 1)
   * when it is the shorter part of its minute (counting time up to now only); otherwise its
   * minute's row is taken (edge) less the readings of the rest of the minute (w = -1), so a
   * query ending now, in the middle of a busy minute, reads only the few readings after its end.
   */
  private pieces(projectId: number, metric: string, plan: RollupPlan, now = Date.now()): Pieces {
    const d = (ms: number) => new Date(ms);
    /** How long a span is up to now: the rest of the current minute holds no readings yet. */
    const past = (s: Span) => Math.max(0, Math.min(s.to, now) - s.from);
    const [a, b] = plan.minutes;
    const params: unknown[] = [projectId, metric, d(plan.hours.from), d(plan.hours.to), d(a.from), d(a.to), d(b.from), d(b.to)];
    const reads: { span: Span; w: 1 | -1 }[] = [];
    const edgeMinutes: Date[] = [];
    for (const span of plan.raw.filter((s) => !isEmpty(s))) {
      const minute = Math.floor(span.from / MINUTE_MS) * MINUTE_MS;
      const rest = [{ from: minute, to: span.from }, { from: span.to, to: minute + MINUTE_MS }].filter((x) => !isEmpty(x));
      const fresh = minute >= plan.refresh.from && minute + MINUTE_MS <= plan.refresh.to && span.to <= minute + MINUTE_MS;
      if (!fresh || past(span) <= rest.reduce((n, x) => n + past(x), 0)) {
        reads.push({ span, w: 1 });
        continue;
      }
      edgeMinutes.push(d(minute));
      for (const x of rest) reads.push({ span: x, w: -1 });
    }
    params.push(edgeMinutes);
    const rolled = `SELECT start AS t, count, sum, min, max, vals, cnts, devices, dcnts,
              (span_s = 60 AND start = ANY($9::timestamptz[])) AS edge
         FROM metric_rollups
        WHERE project_id = $1 AND metric = $2 AND count > 0
          AND ((span_s = 3600 AND start >= $3 AND start < $4)
            OR (span_s = 60 AND ((start >= $5 AND start < $6) OR (start >= $7 AND start < $8) OR start = ANY($9::timestamptz[]))))`;
    // Under a minute each: read device by device through the (device_id, ts) index.
    const raw = reads.map(({ span, w }) => {
      params.push(d(span.from), d(span.to));
      return `SELECT r.ts AS t, r.device_id, ${numberAt('r.payload', '$2::text')} AS v, ${w} AS w FROM readings r
          WHERE ${PROJECT_DEVICES} AND r.project_id = $1 AND r.ts >= $${params.length - 1} AND r.ts < $${params.length}
            AND ${isNumber('r.payload', '$2::text')}`;
    });
    // First, so its names hold when no reading is needed.
    raw.unshift(`SELECT NULL::timestamptz AS t, NULL::bigint AS device_id, NULL::float8 AS v, 0 AS w WHERE false`);
    return { rolled, raw: raw.join(' UNION ALL '), params };
  }
}
