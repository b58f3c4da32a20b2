import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { IntegerRead, runRead } from '../../core/database/transaction';
import type { AlertStatus, PairState } from './alert-state';

export interface AlertRow {
  id: number;
  project_id: number;
  device_id: number;
  rule_id: number;
  status: AlertStatus;
  severity: string;
  triggered_at: Date;
  acknowledged_at: Date | null;
  resolved_at: Date | null;
  details: Record<string, unknown>;
  /** For the mute check: the device's tags, and the event a silence still owes (see SilencesService). */
  device_tags: string[];
  muted_event: string | null;
}

/** Read in the same statement, so the mute check on an alert change costs no query of its own. */
const SILENCE_COLUMNS = `(SELECT d.tags FROM devices d WHERE d.id = alerts.device_id) AS device_tags,
  (SELECT m.event FROM muted_notifications m WHERE m.alert_id = alerts.id) AS muted_event`;

export interface AlertFilter {
  status?: AlertStatus | 'open';
  deviceId?: number;
  ruleId?: number;
}

const COLUMNS = `id, project_id, device_id, rule_id, status, severity, triggered_at, acknowledged_at, resolved_at, details, ${SILENCE_COLUMNS}`;

@Injectable()
export class AlertsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * The open alert and last trigger time of every (rule, device) pair of these devices, each
   * with its project (the evaluation's scope), keyed by device then rule.
   */
  pairStates(tx: EntityManager, devices: readonly { projectId: number; deviceId: number }[]): Promise<Map<number, Map<number, PairState>>> {
    return runRead(tx, this.pairStatesRead(devices));
  }

  /** pairStates as a read that can travel with a transaction's BEGIN. */
  pairStatesRead(devices: readonly { projectId: number; deviceId: number }[]): IntegerRead<Map<number, Map<number, PairState>>> {
    return {
      sql: `SELECT a.device_id, a.rule_id,
              max(a.id) FILTER (WHERE a.status <> 'resolved') AS open_id,
              max(a.triggered_at) AS last_triggered_at
         FROM unnest($1::bigint[], $2::bigint[]) AS u(project_id, device_id)
         JOIN alerts a ON a.device_id = u.device_id AND a.project_id = u.project_id
        GROUP BY a.device_id, a.rule_id`,
      params: [devices.map((d) => d.projectId), devices.map((d) => d.deviceId)],
      parse: (rows: { device_id: number; rule_id: number; open_id: number | null; last_triggered_at: Date | null }[]) => {
        const byDevice = new Map<number, Map<number, PairState>>();
        for (const r of rows) {
          const states = byDevice.get(Number(r.device_id)) ?? new Map<number, PairState>();
          states.set(Number(r.rule_id), { openAlertId: r.open_id === null ? null : Number(r.open_id), lastTriggeredAt: r.last_triggered_at });
          byDevice.set(Number(r.device_id), states);
        }
        return byDevice;
      },
    };
  }

  /**
   * Opens an alert; null if the pair already has one open (the partial unique index decides),
   * or if its rule is gone. triggered_at is the moment of the insert, not the transaction's
   * start, so alerts opened in one evaluation, or by different processes, list in the order
   * they really opened.
   *
   * A rule gone: an evaluation reads its rules first and opens alerts later in its
   * transaction. A rule deleted in between (its alerts and timer rows go with it) would fail
   * the insert on alerts_rule_id_fkey, and with it the whole pass, which then runs again rule
   * by rule or device by device (a deadline batch of thousands, just as the rule goes: the
   * no-data phase of `npm run bench`, docs/rules.md). The insert leaves such a rule's alert
   * out instead. A delete that commits while the insert runs still fails it (the key's check
   * waits for the delete): a window of one statement, not of the pass.
   */
  async open(
    tx: EntityManager,
    scope: TenantScope,
    row: { deviceId: number; ruleId: number; severity: string; details: Record<string, unknown> },
  ): Promise<AlertRow | null> {
    const rows: AlertRow[] = await tx.query(
      `INSERT INTO alerts (project_id, device_id, rule_id, status, severity, details, triggered_at)
       SELECT $1, $2, $3, 'firing', $4, $5, clock_timestamp() WHERE EXISTS (SELECT 1 FROM rules WHERE id = $3)
       ON CONFLICT (rule_id, device_id) WHERE status <> 'resolved' DO NOTHING
       RETURNING ${COLUMNS}`,
      [scope.projectId, row.deviceId, row.ruleId, row.severity, row.details],
    );
    return rows[0] ?? null;
  }

  /**
   * Opens several alerts in one statement (the deadline timer's batches); as open, a pair
   * that already has one open, or whose rule is gone, is left out. Each row's triggered_at is
   * its own insert moment.
   */
  openMany(tx: EntityManager, rows: readonly { projectId: number; deviceId: number; ruleId: number; severity: string; details: Record<string, unknown> }[]): Promise<AlertRow[]> {
    return tx.query(
      `INSERT INTO alerts (project_id, device_id, rule_id, status, severity, details, triggered_at)
       SELECT u.p, u.d, u.r, 'firing', u.s, u.j, clock_timestamp()
         FROM ROWS FROM (unnest($1::bigint[]), unnest($2::bigint[]), unnest($3::bigint[]), unnest($4::text[]), jsonb_array_elements($5::jsonb)) AS u(p, d, r, s, j)
        WHERE EXISTS (SELECT 1 FROM rules WHERE id = u.r)
       ON CONFLICT (rule_id, device_id) WHERE status <> 'resolved' DO NOTHING
       RETURNING ${COLUMNS}`,
      [rows.map((r) => r.projectId), rows.map((r) => r.deviceId), rows.map((r) => r.ruleId), rows.map((r) => r.severity), JSON.stringify(rows.map((r) => r.details))],
    );
  }

  /** Moves an open alert to a new status; null when it is not (or no longer) open. */
  async transition(
    manager: EntityManager | null,
    scope: TenantScope,
    alertId: number,
    to: 'acknowledged' | 'resolved',
  ): Promise<AlertRow | null> {
    const stamp = to === 'acknowledged' ? 'acknowledged_at' : 'resolved_at';
    const from = to === 'acknowledged' ? `('firing')` : `('firing', 'acknowledged')`;
    const [rows] = (await (manager ?? this.ds.manager).query(
      `UPDATE alerts SET status = $3, ${stamp} = now()
        WHERE project_id = $1 AND id = $2 AND status IN ${from}
        RETURNING ${COLUMNS}`,
      [scope.projectId, alertId, to],
    )) as [AlertRow[], number];
    return rows[0] ?? null;
  }

  async get(scope: TenantScope, alertId: number): Promise<AlertRow | null> {
    const rows: AlertRow[] = await this.ds.query(`SELECT ${COLUMNS} FROM alerts WHERE project_id = $1 AND id = $2`, [
      scope.projectId,
      alertId,
    ]);
    return rows[0] ?? null;
  }

  /** Whether the project has this rule: the alerts module cannot ask the rules module, which depends on it. */
  async ruleExists(scope: TenantScope, ruleId: number): Promise<boolean> {
    const rows = await this.ds.query(`SELECT 1 FROM rules WHERE project_id = $1 AND id = $2`, [scope.projectId, ruleId]);
    return rows.length > 0;
  }

  list(scope: TenantScope, filter: AlertFilter, page: PageRequest): Promise<AlertRow[]> {
    const params: unknown[] = [scope.projectId, page.limit + 1];
    const where = ['project_id = $1'];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.status === 'open') where.push(`status <> 'resolved'`);
    else if (filter.status) add('status = ?', filter.status);
    if (filter.deviceId !== undefined) add('device_id = ?', filter.deviceId);
    if (filter.ruleId !== undefined) add('rule_id = ?', filter.ruleId);
    // Newest triggered_at first, then id; the cursor is the last alert's id, whose position
    // (triggered_at, id) is looked up, so the order stays exact to the microsecond.
    if (page.beforeId !== null) add('(triggered_at, id) < (SELECT triggered_at, id FROM alerts WHERE project_id = $1 AND id = ?)', page.beforeId);
    return this.ds.query(`SELECT ${COLUMNS} FROM alerts WHERE ${where.join(' AND ')} ORDER BY triggered_at DESC, id DESC LIMIT $2`, params);
  }
}
