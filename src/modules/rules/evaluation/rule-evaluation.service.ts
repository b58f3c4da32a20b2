import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Metrics } from '../../../core/metrics/metrics.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { decide } from '../../alerts/alert-state';
import { AlertChange, AlertsService } from '../../alerts/alerts.service';
import { TelemetryQueryService } from '../../telemetry/telemetry-query.service';
import { RuleRow, RulesRepository } from '../rules.repository';
import { evaluate } from './k-of-n';

const ruleSnapshot = (r: RuleRow) => ({
  id: Number(r.id),
  name: r.name,
  metric: r.metric,
  operator: r.operator,
  threshold: Number(r.threshold),
  window_n: r.window_n,
  required_k: r.required_k,
  cooldown_seconds: r.cooldown_seconds,
  scope: r.scope,
  tag: r.tag,
});

/**
 * Evaluates every applicable rule of one device in one pass: one read of the device's newest
 * max(window_n) readings serves all of them. The whole pass runs in one transaction holding
 * the device's advisory lock, so concurrent workers serialise per device; each rule's change
 * runs under a savepoint, so one failing rule never undoes or stops the others.
 */
@Injectable()
export class RuleEvaluationService {
  private readonly logger = new Logger('Evaluation');

  constructor(
    private readonly ds: DataSource,
    private readonly rules: RulesRepository,
    private readonly telemetry: TelemetryQueryService,
    private readonly alerts: AlertsService,
    private readonly metrics: Metrics,
  ) {}

  async evaluateDevice(scope: TenantScope, deviceId: number): Promise<AlertChange[]> {
    const done = this.metrics.evaluationSeconds.startTimer();
    const changes = await this.ds.transaction(async (tx) => {
      const now = await this.rules.lockDevice(tx, deviceId);
      const rules = await this.rules.applicableRules(tx, scope, deviceId);
      if (!rules.length) return [];
      const maxN = Math.max(...rules.map((r) => r.window_n));
      const readings = await this.telemetry.window(tx, scope, deviceId, maxN);
      const states = await this.alerts.pairStates(tx, scope, deviceId, rules.map((r) => Number(r.id)));
      const out: AlertChange[] = [];
      for (const rule of rules) {
        const ruleId = Number(rule.id);
        const state = states.get(ruleId) ?? { openAlertId: null, lastTriggeredAt: null };
        const result = evaluate({ ...rule, threshold: Number(rule.threshold) }, readings);
        const transition = decide(state, result.holds, rule.cooldown_seconds, now);
        if (transition === 'none') continue;
        await tx.query('SAVEPOINT rule_change');
        try {
          const change =
            transition === 'open'
              ? await this.alerts.openInTx(tx, scope, {
                  deviceId,
                  ruleId,
                  severity: rule.severity,
                  details: {
                    rule: ruleSnapshot(rule),
                    evaluation: {
                      device_id: deviceId,
                      match_count: result.match_count,
                      considered: result.considered,
                      latest_value: result.latest_value,
                      latest_ts: result.latest_ts,
                    },
                  },
                })
              : await this.alerts.resolveInTx(tx, scope, state.openAlertId!);
          await tx.query('RELEASE SAVEPOINT rule_change');
          if (change) out.push(change);
        } catch (err) {
          await tx.query('ROLLBACK TO SAVEPOINT rule_change');
          this.logger.error(`rule ${ruleId} on device ${deviceId}: ${(err as Error).message}`);
        }
      }
      return out;
    });
    done();
    // The deliveries are committed (the outbox): failing to queue or publish now loses nothing.
    await this.alerts.afterCommit(changes, 'evaluation').catch((err) => this.logger.warn(`after-commit work failed: ${err.message}`));
    return changes;
  }
}
