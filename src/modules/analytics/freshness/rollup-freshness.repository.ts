import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ADVISORY_LOCKS } from '../../../core/database/advisory-locks';
import { SqlParams } from '../../../core/database/sql-params';
import { isNumber, numberAt, projectDevices } from '../metric-sql';
import { HOUR_MS, hoursOf, mergeSpans, Span } from '../rollup-plan';
import { deviceBitsOf, EITHER_DELTA_KIND, mergedRollups, ROLLUP_COLUMNS, rollupsOfValues } from '../rollup-sql';

/** The per-project rebuild lock (two-key form: namespace, project); the device-delete trigger takes it too. */
const PROJECT_LOCK_NAMESPACE = ADVISORY_LOCKS.projectRollups;
/** Rebuilds hold it shared; retention and mark compaction hold it alone (one-key form). */
const ALL_PROJECTS_LOCK = ADVISORY_LOCKS.allProjectRollups;
/** A rebuild of more hours than this reads the project's readings by scanning, not device by device. */
const MAX_PROBED_HOURS = 2;
/** Hours of one metric the catch-up job brings up to date per transaction (and per hold of the project's lock). */
const MAX_JOB_HOURS = 24;
/** A query reads at most this many waiting delta rows beside the rollups; past it, it catches up first. */
export const MAX_READ_THROUGH_DELTAS = 20_000;
/** A query that read more waiting delta rows than this merges them after answering, so live data's deltas do not pile up. */
export const MERGE_SOON_DELTAS = 2_000;

/**
 * The freshness half of analytics: keeps the minute and hour rollups of one metric per project
 * exact, by catching up on the writer's marks and deltas before a query reads them (and in the
 * catch-up job, after a backfill), and forgets what retention dropped. How and why:
 * docs/analytics.md, "Keeping rollups exact".
 */
@Injectable()
export class RollupFreshnessRepository {
  /** Per project, the tail of this process's catch-ups (see `caughtUp`). */
  private readonly queues = new Map<number, Promise<void>>();

  /** The (project, metric) pairs this process is merging after a query (see `mergeSoon`). */
  private readonly merging = new Set<string>();
  private readonly logger = new Logger('Rollups');

  constructor(private readonly ds: DataSource) {}

  /**
   * Runs `read` in a REPEATABLE READ snapshot where the rollups of the whole hours in `span`,
   * with the delta rows that wait for them, agree exactly with the readings; `read` adds those
   * deltas. It catches up first, under the project's lock, if a mark waits, an hour has no
   * rollups or more than MAX_READ_THROUGH_DELTAS deltas wait; when it read more than
   * MERGE_SOON_DELTAS of them, it merges them after answering (docs/analytics.md, "Keeping
   * rollups exact").
   */
  async current<T>(projectId: number, metric: string, span: Span, read: (tx: EntityManager) => Promise<T>): Promise<T> {
    const bounds = [projectId, metric, new Date(span.from), new Date(span.to)];
    let waiting = 0;
    const clean = await this.inTransaction(async (tx) => {
      const state = await this.readable(tx, hoursOf(span).length, bounds);
      if (!state.readable) return null;
      waiting = state.deltas;
      return read(tx);
    });
    if (clean === null) return this.caughtUp(projectId, metric, span, read);
    if (waiting > MERGE_SOON_DELTAS) this.mergeSoon(projectId, metric, span);
    return clean;
  }

  /**
   * Merges the deltas waiting in `span` in the background, one merge per (project, metric) at
   * a time in this process; queries meanwhile read beside them as before. If it fails, they
   * wait for the next catch-up.
   */
  private mergeSoon(projectId: number, metric: string, span: Span): void {
    const key = `${projectId}|${metric}`;
    if (this.merging.has(key)) return;
    this.merging.add(key);
    this.catchUp(projectId, metric, span)
      .catch((err: Error) => this.logger.warn(`merging the deltas of project ${projectId}, ${metric}: ${err.message}`))
      .finally(() => this.merging.delete(key));
  }

  /**
   * The catch-up job's work (docs/analytics.md, "Keeping rollups exact"): the same catch-up a
   * query makes, for every hour of the project that has rollups and a mark or deltas, at most
   * MAX_JOB_HOURS of one metric per transaction, so a query of the project waits for one such
   * piece at most. A marked hour without rollups is left to the query that first reads it
   * (which builds it from the readings anyway), so a backfill of metrics nobody reads costs
   * nothing here. Returns how many hours it caught up.
   */
  async catchUpMarked(projectId: number): Promise<number> {
    const marked: { metric: string; hours: Date[] }[] = await this.ds.query(
      `SELECT m.metric, array_agg(m.hour ORDER BY m.hour) AS hours
         FROM (SELECT metric, hour FROM metric_rollup_marks WHERE project_id = $1
                UNION SELECT metric, date_bin('1 hour', minute, TIMESTAMPTZ 'epoch') FROM metric_rollup_deltas WHERE project_id = $1
                UNION SELECT metric, hour FROM metric_rollup_hour_deltas WHERE project_id = $1) m
        WHERE EXISTS (SELECT 1 FROM metric_rollups r WHERE r.project_id = $1 AND r.metric = m.metric AND r.span_s = 3600 AND r.start = m.hour)
        GROUP BY m.metric ORDER BY m.metric`,
      [projectId],
    );
    let caught = 0;
    for (const { metric, hours } of marked) {
      for (const run of mergeSpans(hours.map((h) => ({ from: h.getTime(), to: h.getTime() + HOUR_MS })))) {
        for (let from = run.from; from < run.to; from += MAX_JOB_HOURS * HOUR_MS) {
          const span = { from, to: Math.min(run.to, from + MAX_JOB_HOURS * HOUR_MS) };
          await this.catchUp(projectId, metric, span);
          await this.settle(projectId, metric, span);
          caught += (span.to - span.from) / HOUR_MS;
        }
      }
    }
    return caught;
  }

  /**
   * Reads once, after the catch-up committed, what it wrote and removed in `span`: the rollup
   * rows with all their arrays and the deltas' index entries. The first read of freshly
   * committed rows sets their hint bits (and marks removed ones dead in the index), a cost the
   * first query after a catch-up would otherwise pay (docs/benchmarks.md); here the job pays it.
   */
  private async settle(projectId: number, metric: string, span: Span): Promise<void> {
    const bounds = [projectId, metric, new Date(span.from), new Date(span.to)];
    await this.ds.query(
      `SELECT (SELECT sum(cardinality(vals) + cardinality(cnts) + cardinality(devices) + cardinality(dcnts) + cardinality(dfirst)
                          + cardinality(dlast) + coalesce(length(device_bits), 0))
                 FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND start >= $3 AND start < $4) AS rollups,
              (SELECT count(*) FROM metric_rollup_deltas
                WHERE project_id = $1 AND metric = $2 AND ${EITHER_DELTA_KIND} AND minute >= $3 AND minute < $4) AS deltas,
              (SELECT count(*) FROM metric_rollup_hour_deltas WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4) AS hour_deltas`,
      bounds,
    );
  }

  /**
   * Brings the whole hours of `span` up to date now, under the project's lock: builds those
   * without rollups, rebuilds the marked ones and merges the deltas waiting for them.
   */
  async catchUp(projectId: number, metric: string, span: Span): Promise<void> {
    await this.caughtUp(projectId, metric, span, async () => true);
  }

  /**
   * Catches up the whole hours of `span` under the project's lock, then runs `read` in that
   * same transaction. One catch-up per project at a time in this process: the others wait
   * here, not on the advisory lock with a pooled connection each.
   */
  private caughtUp<T>(projectId: number, metric: string, span: Span, read: (tx: EntityManager) => Promise<T>): Promise<T> {
    const bounds = [projectId, metric, new Date(span.from), new Date(span.to)];
    return this.serially(projectId, () =>
      this.inTransaction(async (tx) => {
        await this.catchUpIn(tx, projectId, metric, hoursOf(span), bounds);
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

  /**
   * Whether the rollups of the span can be read as they are, beside their waiting deltas: every
   * hour has rollups, no mark waits for them and at most MAX_READ_THROUGH_DELTAS deltas do
   * (`deltas`: how many, up to one more than that). Counted as whole hours read them: the hour
   * deltas and the minute deltas no hour delta holds (a backfill's minute deltas are read only
   * for parts of an hour, at most two hours of a query).
   */
  private async readable(tx: EntityManager, hours: number, bounds: unknown[]): Promise<{ readable: boolean; deltas: number }> {
    if (!hours) return { readable: true, deltas: 0 };
    const [state] = await tx.query(
      `SELECT (SELECT count(*)::int FROM metric_rollups
                WHERE project_id = $1 AND metric = $2 AND span_s = 3600 AND start >= $3 AND start < $4) AS built,
              EXISTS (SELECT 1 FROM metric_rollup_marks WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4) AS marked,
              (SELECT count(*)::int FROM (SELECT 1 FROM metric_rollup_deltas
                                           WHERE project_id = $1 AND metric = $2 AND minute >= $3 AND minute < $4 AND NOT in_hour LIMIT $5) d)
              + (SELECT count(*)::int FROM (SELECT 1 FROM metric_rollup_hour_deltas
                                             WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4 LIMIT $5) h) AS deltas`,
      [...bounds, MAX_READ_THROUGH_DELTAS + 1],
    );
    return { readable: state.built === hours && !state.marked && state.deltas <= MAX_READ_THROUGH_DELTAS, deltas: state.deltas };
  }

  /**
   * In one snapshot: the marks and deltas it takes are exactly those of the readings it sees,
   * so a reading is counted once, by a rebuild or by its delta.
   */
  private async catchUpIn(tx: EntityManager, projectId: number, metric: string, hours: number[], bounds: unknown[]): Promise<void> {
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
    // Deltas of rebuilt hours are in the rebuild already; the others merge: every minute delta
    // into its minute, and into its hour the hour deltas with the minute deltas that none holds
    // (live data's; a backfill's are `in_hour`). An hour row plus its deltas is the hour row of
    // them all, and its bitmap gains their devices' bits (rebuilt whole only where it had none).
    await tx.query(
      `WITH taken AS (
         DELETE FROM metric_rollup_deltas WHERE project_id = $1 AND metric = $2 AND ${EITHER_DELTA_KIND} AND minute >= $3 AND minute < $4
         RETURNING minute AS t, in_hour, ${ROLLUP_COLUMNS}
       ), kept AS (
         SELECT * FROM taken WHERE date_bin('1 hour', t, TIMESTAMPTZ 'epoch') <> ALL($5::timestamptz[])
       ), hour_taken AS (
         DELETE FROM metric_rollup_hour_deltas WHERE project_id = $1 AND metric = $2 AND hour >= $3 AND hour < $4
         RETURNING hour AS t, ${ROLLUP_COLUMNS}
       ), hour_kept AS (
         SELECT * FROM hour_taken WHERE t <> ALL($5::timestamptz[])
       ), old AS (
         DELETE FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 60 AND start IN (SELECT t FROM kept)
         RETURNING start AS t, ${ROLLUP_COLUMNS}
       ), parts AS (SELECT t, ${ROLLUP_COLUMNS} FROM kept UNION ALL SELECT * FROM old),
       minutes AS (
         INSERT INTO metric_rollups (project_id, metric, span_s, start, ${ROLLUP_COLUMNS})
         SELECT $1, $2, 60, t, ${ROLLUP_COLUMNS} FROM (${mergedRollups('parts')}) m
       ), old_hours AS (
         DELETE FROM metric_rollups WHERE project_id = $1 AND metric = $2 AND span_s = 3600
            AND start IN (SELECT date_bin('1 hour', t, TIMESTAMPTZ 'epoch') FROM kept UNION SELECT t FROM hour_kept)
         RETURNING start AS t, ${ROLLUP_COLUMNS}, device_bits
       ), hour_parts AS (
         SELECT date_bin('1 hour', t, TIMESTAMPTZ 'epoch') AS t, ${ROLLUP_COLUMNS} FROM kept WHERE NOT in_hour
         UNION ALL SELECT t, ${ROLLUP_COLUMNS} FROM hour_kept
         UNION ALL SELECT t, ${ROLLUP_COLUMNS} FROM old_hours
       ), hours AS MATERIALIZED (${mergedRollups('hour_parts')}),
       added AS (
         SELECT t, array_agg(DISTINCT d) AS devices FROM (SELECT date_bin('1 hour', t, TIMESTAMPTZ 'epoch') AS t, unnest(devices) AS d FROM kept WHERE NOT in_hour
                                                           UNION ALL SELECT t, unnest(devices) FROM hour_kept) k GROUP BY t
       ), added_bits AS (${deviceBitsOf('added', '$1')}),
       whole_bits AS (${deviceBitsOf('(SELECT h.t, h.devices FROM hours h JOIN old_hours o USING (t) WHERE o.device_bits IS NULL)', '$1')})
       INSERT INTO metric_rollups (project_id, metric, span_s, start, ${ROLLUP_COLUMNS}, device_bits)
       SELECT $1, $2, 3600, h.t, ${ROLLUP_COLUMNS.split(', ').map((c) => `h.${c}`).join(', ')},
              CASE WHEN o.device_bits IS NULL THEN w.device_bits
                   WHEN a.t IS NOT NULL AND a.device_bits IS NOT NULL
                   THEN overlay(repeat('0', greatest(length(o.device_bits), length(a.device_bits)))::varbit PLACING o.device_bits FROM 1)
                      | overlay(repeat('0', greatest(length(o.device_bits), length(a.device_bits)))::varbit PLACING a.device_bits FROM 1)
                   WHEN a.t IS NULL THEN o.device_bits
              END
         FROM hours h JOIN old_hours o USING (t) LEFT JOIN added_bits a USING (t) LEFT JOIN whole_bits w USING (t)`,
      [...bounds, rebuilt],
    );
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
        `DELETE FROM metric_rollup_hour_deltas m
          WHERE NOT EXISTS (SELECT 1 FROM metric_rollups r WHERE r.project_id = m.project_id AND r.metric = m.metric AND r.span_s = 3600
                               AND r.start = m.hour)`,
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
    await tx.query(
      `DELETE FROM metric_rollups USING unnest($3::timestamptz[], $4::timestamptz[]) AS g(lo, hi)
        WHERE project_id = $1 AND metric = $2 AND span_s = 60 AND start >= g.lo AND start < g.hi`,
      [projectId, metric, los, his],
    );
    const q = new SqlParams();
    const [p, m, lo, hi] = [projectId, metric, los, his].map((v) => q.add(v));
    // A few hours are read device by device through the (device_id, ts) index; more, by
    // scanning the project's readings of the whole range.
    const source =
      hours.length <= MAX_PROBED_HOURS
        ? `unnest(${lo}::timestamptz[], ${hi}::timestamptz[]) AS g(lo, hi)
           CROSS JOIN LATERAL (SELECT r.ts, r.device_id, r.payload FROM readings r
                                WHERE ${projectDevices(p)} AND r.project_id = ${p} AND r.ts >= g.lo AND r.ts < g.hi) r
          WHERE true`
        : `readings r WHERE r.project_id = ${p} AND r.ts >= ${q.add(los[0])} AND r.ts < ${q.add(his[his.length - 1])}
            AND EXISTS (SELECT 1 FROM unnest(${lo}::timestamptz[], ${hi}::timestamptz[]) AS g(lo, hi) WHERE r.ts >= g.lo AND r.ts < g.hi)`;
    await tx.query(
      `WITH x AS MATERIALIZED (
         SELECT ${p}::bigint AS p, ${m}::text AS m, date_bin('1 minute', r.ts, TIMESTAMPTZ 'epoch') AS t, r.device_id AS d,
                ${numberAt('r.payload', `${m}::text`)} AS v, r.ts
           FROM ${source} AND ${isNumber('r.payload', `${m}::text`)}
       )
       INSERT INTO metric_rollups (project_id, metric, span_s, start, ${ROLLUP_COLUMNS})
       SELECT p, m, 60, t, ${ROLLUP_COLUMNS} FROM (${rollupsOfValues('x')}) r`,
      q.values,
    );
    await this.rebuildHours(tx, projectId, metric, hours);
  }

  /** Replaces the hour rows of `hours` with the merge of their minute rows (count 0 for none) and their device bitmaps. */
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
       ), hours AS MATERIALIZED (
         SELECT hs.t, ${ROLLUP_COLUMNS.split(', ').map((c) => (c === 'count' ? 'coalesce(m.count, 0) AS count' : `m.${c}`)).join(', ')}
           FROM unnest($3::timestamptz[]) AS hs(t) LEFT JOIN (${mergedRollups('parts')}) m USING (t)
       )
       INSERT INTO metric_rollups (project_id, metric, span_s, start, ${ROLLUP_COLUMNS}, device_bits)
       SELECT $1, $2, 3600, t, ${ROLLUP_COLUMNS}, b.device_bits FROM hours LEFT JOIN (${deviceBitsOf('hours', '$1')}) b USING (t)`,
      [projectId, metric, hours, ...range],
    );
  }
}
