import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { inTransaction } from '../../core/database/transaction';
import { NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { NO_DATA_ONLY_FIELDS, RuleResponse, THRESHOLD_ONLY_FIELDS } from './dto/rule.dto';
import { validateRule } from './rule-validation';
import { RuleRow, RulesRepository } from './rules.repository';
import { DeadlinesRepository } from './scheduling/deadlines.repository';

const ruleNotFound = () => new NotFoundError('RULE.NOT_FOUND', 'rule not found');

const numberOrNull = (v: number | string | null) => (v === null ? null : Number(v));

export const toRuleResponse = (r: RuleRow): RuleResponse => ({
  id: Number(r.id),
  project_id: Number(r.project_id),
  name: r.name,
  type: r.type,
  metric: r.metric,
  operator: r.operator,
  threshold: numberOrNull(r.threshold),
  window_n: r.window_n,
  required_k: r.required_k,
  for_seconds: r.for_seconds,
  clear_threshold: numberOrNull(r.clear_threshold),
  no_data_seconds: r.no_data_seconds,
  cooldown_seconds: r.cooldown_seconds,
  enabled: r.enabled,
  scope: r.scope,
  tag: r.tag,
  severity: r.severity,
  created_at: new Date(r.created_at).toISOString(),
  updated_at: new Date(r.updated_at).toISOString(),
});

@Injectable()
export class RulesService {
  constructor(
    private readonly repo: RulesRepository,
    private readonly devices: DevicesService,
    private readonly deadlines: DeadlinesRepository,
    private readonly ds: DataSource,
  ) {}

  /** A new no-data rule starts the clock of every device it watches (docs/rules.md). */
  async create(scope: TenantScope, body: Record<string, unknown>): Promise<RuleResponse> {
    const fields = validateRule(body);
    const row = await inTransaction(this.ds, async (tx) => {
      const inserted = await this.repo.insert(tx, scope, fields);
      await this.deadlines.syncRule(tx, Number(inserted.id), true);
      return inserted;
    });
    return toRuleResponse(row);
  }

  async list(scope: TenantScope, page: PageRequest, enabledOnly = false): Promise<Page<RuleResponse>> {
    return Page.of(await this.repo.list(scope, page, enabledOnly), page, toRuleResponse);
  }

  async get(scope: TenantScope, id: number): Promise<RuleResponse> {
    const row = await this.repo.get(scope, id);
    if (!row) throw ruleNotFound();
    return toRuleResponse(row);
  }

  /**
   * The rule as it would be after the change must pass every check create makes. A change of
   * type drops the stored fields of the old type before merging, so the PATCH must bring the
   * new type's required fields itself. The rule's deadlines follow in the same transaction.
   */
  async update(scope: TenantScope, id: number, patch: Record<string, unknown>): Promise<RuleResponse> {
    const current = await this.repo.get(scope, id);
    if (!current) throw ruleNotFound();
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const base: Record<string, unknown> = { ...toRuleResponse(current) };
    const typeChanged = defined.type !== undefined && defined.type !== current.type;
    if (typeChanged) for (const f of current.type === 'no_data' ? NO_DATA_ONLY_FIELDS : THRESHOLD_ONLY_FIELDS) delete base[f];
    const merged = validateRule({ ...base, ...defined });
    const row = await inTransaction(this.ds, async (tx) => {
      const updated = await this.repo.update(tx, scope, id, merged);
      if (!updated) return null;
      if (typeChanged) await this.deadlines.clearRule(tx, id);
      // Re-enabled, or watching another metric: every watched device starts its silence again.
      const restart = typeChanged || (merged.enabled && !current.enabled) || merged.metric !== current.metric;
      await this.deadlines.syncRule(tx, id, restart);
      return updated;
    });
    if (!row) throw ruleNotFound();
    return toRuleResponse(row);
  }

  async delete(scope: TenantScope, id: number): Promise<void> {
    if (!(await this.repo.delete(scope, id))) throw ruleNotFound();
  }

  /** Replaces the EXPLICIT assignment set; every device must be the project's (else 404). */
  async assignDevices(scope: TenantScope, id: number, deviceIds: number[]): Promise<void> {
    if (!(await this.repo.get(scope, id))) throw ruleNotFound();
    await this.devices.requireAll(scope, deviceIds);
    await inTransaction(this.ds, async (tx) => {
      await this.repo.replaceAssignments(tx, scope, id, [...new Set(deviceIds)]);
      await this.deadlines.syncRule(tx, id, false);
    });
  }
}
