import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../../core/database/transaction';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import type { Matchers } from './matching/project-silences';
import type { Silence, SilenceFields } from './silence.entity';

const COLUMNS = 'id, project_id, matchers, starts_at, ends_at, recurrence, comment, created_by, created_at, updated_at';

/** The silences not over yet (pending or active, or recurring with windows to come). */
const LIVE = '(ends_at IS NULL OR ends_at > now())';

/** A coarse SQL pre-filter per state; the state itself is computed in code (see silence-timing.ts). */
export type StateHint = 'live' | 'maybe-expired' | null;

export type HeldEvent = 'alert.triggered' | 'alert.resolved';

/** A held notification whose recheck is due, with what the mute check and the webhook body need. */
export interface DueHeld {
  alert_id: number;
  project_id: number;
  org_id: number;
  event: HeldEvent;
  device_id: number;
  rule_id: number;
  status: string;
  severity: string;
  triggered_at: Date;
  resolved_at: Date | null;
  details: Record<string, unknown>;
  device_tags: string[];
}

export interface Preview {
  rule_ids: number[];
  device_ids: number[];
  open_alert_ids: number[];
}

@Injectable()
export class SilencesRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(scope: TenantScope, f: SilenceFields): Promise<Silence> {
    const [row] = await this.ds.query(
      `INSERT INTO silences (project_id, matchers, starts_at, ends_at, recurrence, comment, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [scope.projectId, f.matchers, f.startsAt, f.endsAt, f.recurrence, f.comment, f.createdBy],
    );
    return row;
  }

  /**
   * Rewrites what PATCH may change; in the same transaction, the project's held notifications
   * become due for a recheck, since the change may have ended their silence.
   */
  async update(scope: TenantScope, id: number, f: SilenceFields): Promise<Silence | null> {
    return inTransaction(this.ds, async (tx) => {
      const [rows] = await tx.query(
        `UPDATE silences SET matchers = $3, ends_at = $4, recurrence = $5, comment = $6, updated_at = now()
          WHERE project_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [scope.projectId, id, f.matchers, f.endsAt, f.recurrence, f.comment],
      );
      if (rows[0]) await this.recheckSoon(tx, scope);
      return rows[0] ?? null;
    });
  }

  /** Ends a silence now (an ended one keeps its end); it is kept and lists as expired. */
  async end(scope: TenantScope, id: number): Promise<boolean> {
    return inTransaction(this.ds, async (tx) => {
      const [, count] = await tx.query(
        `UPDATE silences SET ends_at = least(coalesce(ends_at, now()), now()), updated_at = now()
          WHERE project_id = $1 AND id = $2`,
        [scope.projectId, id],
      );
      if (count > 0) await this.recheckSoon(tx, scope);
      return count > 0;
    });
  }

  async get(scope: TenantScope, id: number): Promise<Silence | null> {
    const rows = await this.ds.query(`SELECT ${COLUMNS} FROM silences WHERE project_id = $1 AND id = $2`, [scope.projectId, id]);
    return rows[0] ?? null;
  }

  /** Newest first, below `beforeId`. */
  list(scope: TenantScope, beforeId: number | null, limit: number, hint: StateHint): Promise<Silence[]> {
    const where = hint === 'live' ? `AND ${LIVE}` : hint === 'maybe-expired' ? `AND (ends_at <= now() OR recurrence IS NOT NULL)` : '';
    return this.ds.query(
      `SELECT ${COLUMNS} FROM silences
        WHERE project_id = $1 AND ($2::bigint IS NULL OR id < $2) ${where}
        ORDER BY id DESC LIMIT $3`,
      [scope.projectId, beforeId, limit],
    );
  }

  /**
   * The silences not over yet of the given projects (all: null): what the mute cache and the
   * release compile, and the metrics count. Not scoped by a tenant: the release is a system
   * task over every project's held notifications.
   */
  liveOf(manager: EntityManager | null, projectIds: number[] | null): Promise<Silence[]> {
    return (manager ?? this.ds.manager).query(
      `SELECT ${COLUMNS} FROM silences WHERE ($1::bigint[] IS NULL OR project_id = ANY($1)) AND ${LIVE} ORDER BY id`,
      [projectIds],
    );
  }

  async countRules(scope: TenantScope, ids: number[]): Promise<number> {
    const [row] = await this.ds.query(`SELECT count(*)::int AS n FROM rules WHERE project_id = $1 AND id = ANY($2::bigint[])`, [scope.projectId, ids]);
    return row.n;
  }

  /**
   * What matchers select now: rules by id and severity, devices by id and tag, and the open
   * alerts of those pairs (by the alert's severity, as the mute check reads it). A read across
   * the rules, devices and alerts tables, kept here because it is the silences' question.
   */
  async preview(scope: TenantScope, m: Matchers): Promise<Preview> {
    const [row] = await this.ds.query(
      `SELECT
         (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM rules
           WHERE project_id = $1 AND ($2::bigint[] IS NULL OR id = ANY($2)) AND ($5::text[] IS NULL OR severity = ANY($5))) AS rule_ids,
         (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM devices
           WHERE project_id = $1 AND ($3::bigint[] IS NULL OR id = ANY($3)) AND ($4::text[] IS NULL OR tags && $4)) AS device_ids,
         (SELECT coalesce(array_agg(a.id ORDER BY a.id), '{}') FROM alerts a JOIN devices d ON d.id = a.device_id
           WHERE a.project_id = $1 AND a.status <> 'resolved'
             AND ($2::bigint[] IS NULL OR a.rule_id = ANY($2)) AND ($5::text[] IS NULL OR a.severity = ANY($5))
             AND ($3::bigint[] IS NULL OR a.device_id = ANY($3)) AND ($4::text[] IS NULL OR d.tags && $4)) AS open_alert_ids`,
      [scope.projectId, ...[m.rule_ids, m.device_ids, m.tags, m.severities].map((xs) => (xs?.length ? xs : null))],
    );
    const ids = (xs: (string | number)[]) => xs.map(Number);
    return { rule_ids: ids(row.rule_ids), device_ids: ids(row.device_ids), open_alert_ids: ids(row.open_alert_ids) };
  }

  // ---- held notifications (muted_notifications) ----

  /** Inside the alert change's transaction: the event is held back, due for a recheck now. */
  async hold(tx: EntityManager, scope: TenantScope, alertId: number, event: HeldEvent): Promise<void> {
    await tx.query(
      `INSERT INTO muted_notifications (alert_id, project_id, event) VALUES ($1, $2, $3)
       ON CONFLICT (alert_id) DO UPDATE SET event = EXCLUDED.event, recheck_at = now(), muted_at = now()`,
      [alertId, scope.projectId, event],
    );
  }

  /**
   * Takes the alert's held notification away, returning what was held (null: nothing, or a
   * release got there first). Row locks make this and the release exclusive.
   */
  async take(tx: EntityManager, scope: TenantScope, alertId: number): Promise<HeldEvent | null> {
    const [rows] = await tx.query(`DELETE FROM muted_notifications WHERE project_id = $1 AND alert_id = $2 RETURNING event`, [scope.projectId, alertId]);
    return rows[0]?.event ?? null;
  }

  /**
   * A silence changed: the project's held notifications are checked again at once. Every row,
   * those already due too: a release may hold one locked right now, having read the silences
   * as they were before this change, and is about to put its recheck off (up to a minute).
   * Writing the row waits for that release to commit and then makes the row due again; skipping
   * due rows (as this once did) let such a release's postponement stand.
   */
  private async recheckSoon(tx: EntityManager, scope: TenantScope): Promise<void> {
    await tx.query(`UPDATE muted_notifications SET recheck_at = now() WHERE project_id = $1`, [scope.projectId]);
  }

  /**
   * Locks held notifications due for a recheck, across projects (a system task). SKIP LOCKED:
   * concurrent workers share the rows out instead of waiting on each other, and a row an alert
   * change is taking is left to it.
   */
  lockDue(tx: EntityManager, limit: number): Promise<DueHeld[]> {
    return tx.query(
      `SELECT m.alert_id, m.project_id, p.org_id, m.event, a.device_id, a.rule_id, a.status, a.severity,
              a.triggered_at, a.resolved_at, a.details, d.tags AS device_tags
         FROM muted_notifications m
         JOIN alerts a ON a.id = m.alert_id
         JOIN devices d ON d.id = a.device_id
         JOIN projects p ON p.id = m.project_id
        WHERE m.recheck_at <= now()
        ORDER BY m.recheck_at LIMIT $1
        FOR UPDATE OF m SKIP LOCKED`,
      [limit],
    );
  }

  async reschedule(tx: EntityManager, items: { alertId: number; at: Date }[]): Promise<void> {
    if (!items.length) return;
    await tx.query(
      `UPDATE muted_notifications m SET recheck_at = v.at
         FROM unnest($1::bigint[], $2::timestamptz[]) AS v(alert_id, at) WHERE m.alert_id = v.alert_id`,
      [items.map((i) => i.alertId), items.map((i) => i.at)],
    );
  }

  async release(tx: EntityManager, alertIds: number[]): Promise<void> {
    if (alertIds.length) await tx.query(`DELETE FROM muted_notifications WHERE alert_id = ANY($1::bigint[])`, [alertIds]);
  }
}
