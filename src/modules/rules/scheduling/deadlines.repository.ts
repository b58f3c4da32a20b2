import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { COMMIT_VISIBLE } from '../../../core/database/commit-barrier';
import { IntegerRead, runRead } from '../../../core/database/transaction';

/** A (rule, device) timer: a no-data rule's silence clock, or a pending for_seconds condition. */
export interface DeadlineRow {
  rule_id: number;
  device_id: number;
  /** No-data: when the silence started (see docs/rules.md). for_seconds: first evaluation that held. */
  clock_at: Date;
  /** No-data: arrival of the last reading carrying the metric, when known. */
  last_reading_at: Date | null;
  /** When the timer looks at the pair next; null when nothing can happen until data arrives. */
  due_at: Date | null;
}

export interface DueDevice {
  device_id: number;
  project_id: number;
  org_id: number;
}

/** One arrival of readings: the device, the API's receive time, the metrics carried (non-null values). */
export interface Arrival {
  projectId: number;
  deviceId: number;
  at: string;
  /** Every metric carried, or null for too many to list (see `carries`). */
  metrics: readonly string[] | null;
  /** Whether it carries `metric`. */
  carries(metric: string): boolean;
}

// The devices a rule watches, for rule `r` (ALL, TAG by tag, EXPLICIT by assignment).
const WATCHED = `d.project_id = r.project_id AND (
       r.scope = 'ALL'
    OR (r.scope = 'TAG' AND r.tag = ANY (d.tags))
    OR (r.scope = 'EXPLICIT' AND EXISTS (SELECT 1 FROM rule_devices rd WHERE rd.rule_id = r.id AND rd.device_id = d.id)))`;

/**
 * The rule_deadlines table (Postgres, not Redis: a deadline changes in the same transaction
 * as the rule, device, tag or assignment that causes it, FK cascades remove it with its rule
 * or device, and a restart of any process or of Redis loses none). Due ones are found through
 * the partial index on due_at, never by scanning devices.
 */
@Injectable()
export class DeadlinesRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Brings a rule's rows in line with the rule: none when it is disabled; for a no-data rule
   * one per watched device (a device new to the rule starts its clock now; `restartClocks`
   * restarts every clock, for a rule just created, enabled or given another metric); a
   * pending for_seconds row keeps its start and takes the rule's current duration.
   */
  async syncRule(tx: EntityManager, ruleId: number, restartClocks: boolean): Promise<void> {
    await tx.query(
      `DELETE FROM rule_deadlines x USING rules r
        WHERE x.rule_id = $1 AND r.id = x.rule_id
          AND (NOT r.enabled OR NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = x.device_id AND ${WATCHED}))`,
      [ruleId],
    );
    await tx.query(
      `UPDATE rule_deadlines x SET due_at = x.clock_at + make_interval(secs => r.for_seconds)
         FROM rules r WHERE x.rule_id = $1 AND r.id = x.rule_id AND r.type = 'threshold'`,
      [ruleId],
    );
    await tx.query(
      `INSERT INTO rule_deadlines AS x (rule_id, device_id, project_id, clock_at, last_reading_at, due_at)
       SELECT r.id, d.id, d.project_id, date_trunc('milliseconds', clock_timestamp()), CASE WHEN r.metric IS NULL THEN d.last_seen_at END,
              date_trunc('milliseconds', clock_timestamp()) + make_interval(secs => r.no_data_seconds)
         FROM rules r JOIN devices d ON ${WATCHED}
        WHERE r.id = $1 AND r.enabled AND r.type = 'no_data'
       ON CONFLICT (rule_id, device_id) DO UPDATE SET
         clock_at = CASE WHEN $2 THEN EXCLUDED.clock_at ELSE x.clock_at END,
         last_reading_at = CASE WHEN $2 THEN EXCLUDED.last_reading_at ELSE x.last_reading_at END,
         due_at = CASE WHEN $2 THEN EXCLUDED.due_at
                       WHEN x.due_at IS NULL THEN NULL
                       ELSE x.clock_at + (EXCLUDED.due_at - EXCLUDED.clock_at) END`,
      [ruleId, restartClocks],
    );
  }

  /** Every row of a rule goes (its type changed). */
  async clearRule(tx: EntityManager, ruleId: number): Promise<void> {
    await tx.query(`DELETE FROM rule_deadlines WHERE rule_id = $1`, [ruleId]);
  }

  /**
   * Moves the silence clocks of the no-data rules these arrivals concern (a metric-null rule
   * takes any reading). Rows are locked in (device, rule) order, the order an evaluation
   * takes them, so concurrent writers never deadlock; a clock never moves back. An arrival
   * whose metrics are too many to list (a wide reading, many distinct metrics) is matched
   * against the (device, metric) pairs no-data rules watch, looked up first, so only those are
   * sent; a row created after that look-up starts its clock after these arrivals anyway.
   * Commits `visible`, without waiting for its WAL flush (a flush per call, one at a time, was
   * most of the ingest path's wait under the no-data bench's load): callers wait for a
   * CommitBarrier before they count it durable, as for the readings themselves.
   *
   * Answers, per arrival in order, whether its device must be evaluated (docs/rules.md,
   * "Which readings are evaluated"): its project has an enabled threshold rule, or a row it
   * concerns waits for data (`due_at` null: its alert open, or opening now under the row's
   * lock) or has an open alert. Otherwise the move of the clock was all a reading could change.
   */
  async recordArrivals(arrivals: readonly Arrival[]): Promise<boolean[]> {
    const latest = new Map<string, { deviceId: number; metric: string | null; at: string }>();
    const note = (deviceId: number, metric: string | null, at: string) => {
      const key = `${deviceId}|${metric ?? ''}|${metric === null ? 'any' : 'm'}`;
      const seen = latest.get(key);
      if (!seen || seen.at < at) latest.set(key, { deviceId, metric, at });
    };
    const unlisted = arrivals.filter((a) => a.metrics === null);
    const watched = new Map<number, (string | null)[]>();
    if (unlisted.length) {
      const rows: { device_id: string; metric: string | null }[] = await this.ds.query(
        `SELECT DISTINCT x.device_id, r.metric FROM rule_deadlines x JOIN rules r ON r.id = x.rule_id AND r.type = 'no_data'
          WHERE x.device_id = ANY($1::bigint[])`,
        [[...new Set(unlisted.map((a) => a.deviceId))]],
      );
      for (const w of rows) watched.set(Number(w.device_id), [...(watched.get(Number(w.device_id)) ?? []), w.metric]);
    }
    for (const a of arrivals) {
      note(a.deviceId, null, a.at);
      if (a.metrics) for (const m of a.metrics) note(a.deviceId, m, a.at);
      else for (const m of watched.get(a.deviceId) ?? []) if (m !== null && a.carries(m)) note(a.deviceId, m, a.at);
    }
    const rows = [...latest.values()];
    const projects = [...new Set(arrivals.map((a) => a.projectId))];
    // Every row the arrival concerns is locked and looked at, moved or not: a job run again
    // after a crash finds its rows moved already, and must still ask for the evaluation the
    // first run may not have queued. A row's due_at is read under its lock, so it is the latest
    // committed one: an evaluation that opened the pair's alert meanwhile (due_at null) is
    // seen, though its alert is not (this statement's snapshot is older); one that committed
    // before this statement locked the row finds its clock moved and makes the row due now
    // instead (setDue).
    const answer: { device_id: string | null; project_id: string | null }[] = await this.ds.query(
      `WITH u AS (
         SELECT u.device_id, u.metric, u.at FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(device_id, metric, at), ${COMMIT_VISIBLE}
       ), target AS (
         SELECT x.rule_id, x.device_id, u.at, r.no_data_seconds,
                x.last_reading_at IS NULL OR x.last_reading_at < u.at AS moves,
                x.due_at IS NULL OR EXISTS (SELECT 1 FROM alerts a WHERE a.rule_id = x.rule_id AND a.device_id = x.device_id AND a.status <> 'resolved') AS waiting
           FROM u JOIN rule_deadlines x ON x.device_id = u.device_id
           JOIN rules r ON r.id = x.rule_id AND r.type = 'no_data' AND r.metric IS NOT DISTINCT FROM u.metric
          ORDER BY x.device_id, x.rule_id
          FOR NO KEY UPDATE OF x
       ), moved AS (
         UPDATE rule_deadlines x SET last_reading_at = t.at, clock_at = greatest(x.clock_at, t.at),
                due_at = greatest(x.clock_at, t.at) + make_interval(secs => t.no_data_seconds)
           FROM target t WHERE x.rule_id = t.rule_id AND x.device_id = t.device_id AND t.moves
       )
       SELECT DISTINCT device_id, NULL::bigint AS project_id FROM target WHERE waiting
       UNION ALL
       SELECT NULL::bigint, p.id FROM unnest($4::bigint[]) AS p(id)
        WHERE EXISTS (SELECT 1 FROM rules r WHERE r.project_id = p.id AND r.enabled AND r.type = 'threshold')`,
      [rows.map((r) => r.deviceId), rows.map((r) => r.metric), rows.map((r) => r.at), projects],
    );
    const devices = new Set(answer.filter((a) => a.device_id !== null).map((a) => Number(a.device_id)));
    const thresholds = new Set(answer.filter((a) => a.project_id !== null).map((a) => Number(a.project_id)));
    return arrivals.map((a) => thresholds.has(a.projectId) || devices.has(a.deviceId));
  }

  /** The devices' rows keyed by device then rule, inside their evaluation (which holds their advisory locks). */
  forDevices(tx: EntityManager, deviceIds: readonly number[]): Promise<Map<number, Map<number, DeadlineRow>>> {
    return runRead(tx, this.forDevicesRead(deviceIds));
  }

  /** forDevices as a read that can travel with a transaction's BEGIN. */
  forDevicesRead(deviceIds: readonly number[]): IntegerRead<Map<number, Map<number, DeadlineRow>>> {
    return {
      sql: `SELECT rule_id, device_id, clock_at, last_reading_at, due_at FROM rule_deadlines WHERE device_id = ANY($1::bigint[])`,
      params: [deviceIds],
      parse: (rows: DeadlineRow[]) => {
        const byDevice = new Map<number, Map<number, DeadlineRow>>();
        for (const r of rows) {
          const rules = byDevice.get(Number(r.device_id)) ?? new Map<number, DeadlineRow>();
          rules.set(Number(r.rule_id), r);
          byDevice.set(Number(r.device_id), rules);
        }
        return byDevice;
      },
    };
  }

  /**
   * Creates or replaces a pair's row, unless its rule has gone meanwhile (deleted or disabled
   * after the evaluation read it: its rows went with it, and none may come back).
   */
  async put(tx: EntityManager, row: { ruleId: number; deviceId: number; projectId: number; clockAt: Date; dueAt: Date | null }): Promise<void> {
    await tx.query(
      `INSERT INTO rule_deadlines (rule_id, device_id, project_id, clock_at, due_at)
       SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM rules WHERE id = $1 AND enabled)
       ON CONFLICT (rule_id, device_id) DO UPDATE SET clock_at = EXCLUDED.clock_at, due_at = EXCLUDED.due_at`,
      [row.ruleId, row.deviceId, row.projectId, row.clockAt, row.dueAt],
    );
  }

  /**
   * Sets when the timer looks next at each pair, in one statement, unless its clock moved
   * meanwhile: a reading's arrival is recorded without the device lock, and decided whether
   * the device needs an evaluation before this one committed. So when the clock moved under a
   * pair this evaluation leaves with an open alert (due null), the row becomes due now, and
   * the timer evaluates the device again (and resolves the alert) within its period.
   */
  async setDue(tx: EntityManager, changes: readonly { row: DeadlineRow; dueAt: Date | null }[]): Promise<void> {
    if (!changes.length) return;
    // Rows are locked in (device, rule) order, as the arrivals lock them: a timer batch's many
    // devices and a flush of arrivals for some of the same never deadlock.
    await tx.query(
      `WITH pairs AS (
         SELECT x.rule_id, x.device_id, u.due_at, abs(extract(epoch FROM x.clock_at - u.clock_at)) < 0.002 AS same_clock
           FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS u(rule_id, device_id, clock_at, due_at)
           JOIN rule_deadlines x ON x.rule_id = u.rule_id AND x.device_id = u.device_id
          ORDER BY x.device_id, x.rule_id
          FOR NO KEY UPDATE OF x
       )
       UPDATE rule_deadlines x SET due_at = CASE WHEN p.same_clock THEN p.due_at ELSE least(x.due_at, now()) END
         FROM pairs p WHERE x.rule_id = p.rule_id AND x.device_id = p.device_id AND (p.same_clock OR p.due_at IS NULL)`,
      [
        changes.map((c) => c.row.rule_id),
        changes.map((c) => c.row.device_id),
        changes.map((c) => c.row.clock_at),
        changes.map((c) => c.dueAt),
      ],
    );
  }

  async remove(tx: EntityManager, ruleId: number, deviceId: number): Promise<void> {
    await tx.query(`DELETE FROM rule_deadlines WHERE rule_id = $1 AND device_id = $2`, [ruleId, deviceId]);
  }

  /**
   * Devices with a row due now, earliest first: an index range scan on due_at. now() (this
   * statement's start), not clock_timestamp(): a volatile bound cannot use the index, and
   * scanned every row of a large rule instead.
   */
  dueDevices(limit: number): Promise<DueDevice[]> {
    return this.ds.query(
      `SELECT x.device_id, x.project_id, p.org_id
         FROM (SELECT device_id, project_id, min(due_at) AS due
                 FROM rule_deadlines WHERE due_at <= now()
                GROUP BY device_id, project_id ORDER BY due LIMIT $1) x
         JOIN projects p ON p.id = x.project_id
        ORDER BY x.due`,
      [limit],
    );
  }

  /**
   * Arrival of the device's last reading carrying a metric, for an alert's details when the
   * row does not know it (the rule began watching after the device last sent). Reads the
   * device's readings, so it runs only when an alert opens.
   */
  async lastArrival(tx: EntityManager, deviceId: number, metric: string): Promise<Date | null> {
    const [row] = await tx.query(
      `SELECT max(received_at) AS at FROM readings WHERE device_id = $1 AND payload ? $2 AND payload -> $2 <> 'null'::jsonb`,
      [deviceId, metric],
    );
    return row?.at ?? null;
  }
}
