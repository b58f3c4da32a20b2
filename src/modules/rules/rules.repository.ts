import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ADVISORY_LOCKS } from '../../core/database/advisory-locks';
import { IntegerRead, runRead } from '../../core/database/transaction';
import type { PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import type { Operator } from './evaluation/k-of-n';
import type { RuleScope, RuleType, Severity } from './dto/rule.dto';

export interface RuleRow {
  id: number;
  project_id: number;
  name: string;
  type: RuleType;
  /** Null only for a no-data rule that takes any reading. */
  metric: string | null;
  // The threshold fields are null for no-data rules, no_data_seconds for threshold rules.
  operator: Operator | null;
  threshold: number | null;
  window_n: number | null;
  required_k: number | null;
  for_seconds: number | null;
  clear_threshold: number | null;
  no_data_seconds: number | null;
  cooldown_seconds: number;
  enabled: boolean;
  scope: RuleScope;
  tag: string | null;
  severity: Severity;
  created_at: Date;
  updated_at: Date;
}

export type RuleFields = Omit<RuleRow, 'id' | 'project_id' | 'created_at' | 'updated_at'>;

const COLUMNS = `id, project_id, name, type, metric, operator, threshold, window_n, required_k, for_seconds, clear_threshold,
  no_data_seconds, cooldown_seconds, enabled, scope, tag, severity, created_at, updated_at`;
const FIELDS = [
  'name',
  'type',
  'metric',
  'operator',
  'threshold',
  'window_n',
  'required_k',
  'for_seconds',
  'clear_threshold',
  'no_data_seconds',
  'cooldown_seconds',
  'enabled',
  'scope',
  'tag',
  'severity',
] as const;

const EVALUATION_LOCK_NAMESPACE = ADVISORY_LOCKS.deviceEvaluation;

@Injectable()
export class RulesRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(tx: EntityManager, scope: TenantScope, f: RuleFields): Promise<RuleRow> {
    const [row] = await tx.query(
      `INSERT INTO rules (project_id, ${FIELDS.join(', ')})
       VALUES ($1, ${FIELDS.map((_, i) => `$${i + 2}`).join(', ')}) RETURNING ${COLUMNS}`,
      [scope.projectId, ...FIELDS.map((k) => f[k])],
    );
    return row;
  }

  async update(tx: EntityManager, scope: TenantScope, id: number, f: RuleFields): Promise<RuleRow | null> {
    const [rows] = await tx.query(
      `UPDATE rules SET ${FIELDS.map((k, i) => `${k} = $${i + 3}`).join(', ')}, updated_at = now()
        WHERE project_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [scope.projectId, id, ...FIELDS.map((k) => f[k])],
    );
    return rows[0] ?? null;
  }

  async get(scope: TenantScope, id: number): Promise<RuleRow | null> {
    const rows = await this.ds.query(`SELECT ${COLUMNS} FROM rules WHERE project_id = $1 AND id = $2`, [scope.projectId, id]);
    return rows[0] ?? null;
  }

  list(scope: TenantScope, page: PageRequest, enabledOnly = false): Promise<RuleRow[]> {
    const params: unknown[] = [scope.projectId, page.limit + 1];
    let where = 'project_id = $1';
    if (enabledOnly) where += ' AND enabled';
    if (page.beforeId !== null) {
      params.push(page.beforeId);
      where += ` AND id < $${params.length}`;
    }
    return this.ds.query(`SELECT ${COLUMNS} FROM rules WHERE ${where} ORDER BY id DESC LIMIT $2`, params);
  }

  async delete(scope: TenantScope, id: number): Promise<boolean> {
    const [, count] = await this.ds.query(`DELETE FROM rules WHERE project_id = $1 AND id = $2`, [scope.projectId, id]);
    return count > 0;
  }

  /** Replaces the rule's EXPLICIT assignment set, inside the caller's transaction. */
  async replaceAssignments(tx: EntityManager, scope: TenantScope, ruleId: number, deviceIds: number[]): Promise<void> {
    await tx.query(`DELETE FROM rule_devices WHERE rule_id = $1 AND rule_id IN (SELECT id FROM rules WHERE project_id = $2)`, [ruleId, scope.projectId]);
    await tx.query(
      `INSERT INTO rule_devices (rule_id, device_id)
       SELECT $1, d.id FROM devices d WHERE d.project_id = $2 AND d.id = ANY($3::bigint[])
       ON CONFLICT DO NOTHING`,
      [ruleId, scope.projectId, deviceIds],
    );
  }

  /**
   * Serialises evaluations of one device across every worker, until the transaction ends: the
   * transaction's first read (inTransactionOpenedBy), which also answers its `now`.
   */
  lockDevice(deviceId: number): IntegerRead<{ now: Date }> {
    return { sql: `SELECT pg_advisory_xact_lock($1, $2::int), now() AS now`, params: [EVALUATION_LOCK_NAMESPACE, deviceId], parse: ([row]) => ({ now: row.now }) };
  }

  /** As lockDevice for several devices, without waiting: the ones another transaction holds are left out. */
  async tryLockDevices(tx: EntityManager, deviceIds: readonly number[]): Promise<{ now: Date; locked: Set<number> }> {
    const rows: { id: number; locked: boolean; now: Date }[] = await tx.query(
      `SELECT id, pg_try_advisory_xact_lock($1, id::int) AS locked, now() AS now FROM unnest($2::bigint[]) AS id`,
      [EVALUATION_LOCK_NAMESPACE, deviceIds],
    );
    const [{ now }] = rows.length ? rows : await tx.query(`SELECT now() AS now`);
    return { now, locked: new Set(rows.filter((r) => r.locked).map((r) => Number(r.id))) };
  }

  /**
   * The enabled rules that apply to each device, keyed by device: ALL, TAG by the device's
   * tags, EXPLICIT by assignment, each device within its own project. Reads the devices' tags
   * in the same statement (a join across modules, kept here because it is the
   * rule-applicability question).
   */
  applicableRules(tx: EntityManager, devices: readonly { projectId: number; deviceId: number }[]): Promise<Map<number, RuleRow[]>> {
    return runRead(tx, this.applicableRulesRead(devices));
  }

  /** applicableRules as a read that can travel with a transaction's BEGIN. */
  applicableRulesRead(devices: readonly { projectId: number; deviceId: number }[]): IntegerRead<Map<number, RuleRow[]>> {
    return {
      sql: `SELECT d.id AS device_id, ${COLUMNS.replace(/(\w+)/g, 'r.$1')}
         FROM unnest($1::bigint[], $2::bigint[]) AS u(project_id, device_id)
         JOIN devices d ON d.id = u.device_id AND d.project_id = u.project_id
         JOIN rules r ON r.project_id = d.project_id AND r.enabled AND (
              r.scope = 'ALL'
           OR (r.scope = 'TAG' AND r.tag = ANY (d.tags))
           OR (r.scope = 'EXPLICIT' AND EXISTS (SELECT 1 FROM rule_devices rd WHERE rd.rule_id = r.id AND rd.device_id = d.id)))
        ORDER BY d.id, r.id`,
      params: [devices.map((d) => d.projectId), devices.map((d) => d.deviceId)],
      parse: (rows: (RuleRow & { device_id: number })[]) => {
        const byDevice = new Map<number, RuleRow[]>();
        for (const { device_id, ...rule } of rows) {
          const list = byDevice.get(Number(device_id)) ?? [];
          list.push(rule);
          byDevice.set(Number(device_id), list);
        }
        return byDevice;
      },
    };
  }

}
