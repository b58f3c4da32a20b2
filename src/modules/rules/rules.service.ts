import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { RuleResponse } from './dto/rule.dto';
import { validateRule } from './rule-validation';
import { RuleRow, RulesRepository } from './rules.repository';

const ruleNotFound = () => new NotFoundError('RULE.NOT_FOUND', 'rule not found');

export const toRuleResponse = (r: RuleRow): RuleResponse => ({
  id: Number(r.id),
  project_id: Number(r.project_id),
  name: r.name,
  metric: r.metric,
  operator: r.operator,
  threshold: Number(r.threshold),
  window_n: r.window_n,
  required_k: r.required_k,
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
  ) {}

  async create(scope: TenantScope, body: Record<string, unknown>): Promise<RuleResponse> {
    return toRuleResponse(await this.repo.insert(scope, validateRule(body)));
  }

  async list(scope: TenantScope, page: PageRequest, enabledOnly = false): Promise<Page<RuleResponse>> {
    return Page.of(await this.repo.list(scope, page, enabledOnly), page, toRuleResponse);
  }

  async get(scope: TenantScope, id: number): Promise<RuleResponse> {
    const row = await this.repo.get(scope, id);
    if (!row) throw ruleNotFound();
    return toRuleResponse(row);
  }

  /** The rule as it would be after the change must pass every check create makes. */
  async update(scope: TenantScope, id: number, patch: Record<string, unknown>): Promise<RuleResponse> {
    const current = await this.repo.get(scope, id);
    if (!current) throw ruleNotFound();
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const merged = validateRule({ ...toRuleResponse(current), threshold: Number(current.threshold), ...defined });
    const row = await this.repo.update(scope, id, merged);
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
    await this.repo.replaceAssignments(scope, id, [...new Set(deviceIds)]);
  }
}
