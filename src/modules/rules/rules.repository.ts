import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
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

/** Namespace of the per-device evaluation advisory locks (two-key form: namespace, device). */
const EVALUATION_LOCK_NAMESPACE = 727_010;

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

  /** Serialises evaluations of one device across every worker, until the transaction ends. */
  async lockDevice(tx: EntityManager, deviceId: number): Promise<Date> {
    const [row] = await tx.query(`SELECT pg_advisory_xact_lock($1, $2::int), now() AS now`, [EVALUATION_LOCK_NAMESPACE, deviceId]);
    return row.now;
  }

  /** As lockDevice, but null at once when another transaction holds the device. */
  async tryLockDevice(tx: EntityManager, deviceId: number): Promise<Date | null> {
    const [row] = await tx.query(`SELECT pg_try_advisory_xact_lock($1, $2::int) AS locked, now() AS now`, [EVALUATION_LOCK_NAMESPACE, deviceId]);
    return row.locked ? row.now : null;
  }

  /**
   * The enabled rules that apply to a device: ALL, TAG by the device's tags, EXPLICIT by
   * assignment. Reads the device's tags in the same statement (a join across modules, kept
   * here because it is the rule-applicability question).
   */
  applicableRules(tx: EntityManager, scope: TenantScope, deviceId: number): Promise<RuleRow[]> {
    return tx.query(
      `SELECT ${COLUMNS.replace(/(\w+)/g, 'r.$1')} FROM rules r
        WHERE r.project_id = $1 AND r.enabled AND (
              r.scope = 'ALL'
           OR (r.scope = 'TAG' AND r.tag = ANY (SELECT unnest(tags) FROM devices WHERE id = $2 AND project_id = $1))
           OR (r.scope = 'EXPLICIT' AND EXISTS (SELECT 1 FROM rule_devices rd WHERE rd.rule_id = r.id AND rd.device_id = $2)))
        ORDER BY r.id`,
      [scope.projectId, deviceId],
    );
  }
}
