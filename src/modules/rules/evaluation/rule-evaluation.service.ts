import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Metrics } from '../../../core/metrics/metrics.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { decide, PairState, Transition } from '../../alerts/alert-state';
import { AlertChange, AlertsService } from '../../alerts/alerts.service';
import { TelemetryQueryService } from '../../telemetry/telemetry-query.service';
import { RuleRow, RulesRepository } from '../rules.repository';
import { DeadlineRow, DeadlinesRepository } from '../scheduling/deadlines.repository';
import { evaluate, RuleCondition, WindowReading } from './k-of-n';
import { nextCheck, silence, sustained } from './timers';

const ruleSnapshot = (r: RuleRow) => ({
  id: Number(r.id),
  name: r.name,
  metric: r.metric,
  operator: r.operator,
  threshold: r.threshold === null ? null : Number(r.threshold),
  window_n: r.window_n,
  required_k: r.required_k,
  cooldown_seconds: r.cooldown_seconds,
  scope: r.scope,
  tag: r.tag,
  type: r.type,
  for_seconds: r.for_seconds,
  clear_threshold: r.clear_threshold === null ? null : Number(r.clear_threshold),
  no_data_seconds: r.no_data_seconds,
});

const condition = (r: RuleRow, threshold = r.threshold): RuleCondition => ({
  metric: r.metric!,
  operator: r.operator!,
  threshold: Number(threshold),
  window_n: r.window_n!,
  required_k: r.required_k!,
});

/** Times read back from Postgres may carry microseconds JavaScript drops. */
const sameTime = (a: Date | null, b: Date | null) => (a === null || b === null ? a === b : Math.abs(new Date(a).getTime() - b.getTime()) < 2);

/** What the evaluation of one rule on the device decided, and the timer row to keep. */
interface Plan {
  transition: Transition;
  evaluation: Record<string, unknown>;
  /** Writes the pair's timer row; runs with the alert change, under the same savepoint. */
  deadline?: (tx: EntityManager) => Promise<void>;
}

/**
 * Evaluates every applicable rule of one device in one pass: one read of the device's newest
 * max(window_n) readings serves all threshold rules, one read of its timer rows serves the
 * no-data and for_seconds ones. The whole pass runs in one transaction holding the device's
 * advisory lock, so concurrent workers (and the deadline timer) serialise per device; each
 * rule's change runs under a savepoint, so one failing rule never undoes or stops the others.
 */
@Injectable()
export class RuleEvaluationService {
  private readonly logger = new Logger('Evaluation');

  constructor(
    private readonly ds: DataSource,
    private readonly rules: RulesRepository,
    private readonly deadlines: DeadlinesRepository,
    private readonly telemetry: TelemetryQueryService,
    private readonly alerts: AlertsService,
    private readonly metrics: Metrics,
  ) {}

  /**
   * `fromTimer`: the deadline timer's call. It skips a device another transaction holds (that
   * one evaluates the same rules; the row stays due and the next tick looks again) and drops
   * timer rows of rules that no longer apply.
   */
  async evaluateDevice(scope: TenantScope, deviceId: number, opts: { fromTimer?: boolean } = {}): Promise<AlertChange[]> {
    const done = this.metrics.evaluationSeconds.startTimer();
    const changes = await this.ds.transaction(async (tx) => {
      const now = opts.fromTimer ? await this.rules.tryLockDevice(tx, deviceId) : await this.rules.lockDevice(tx, deviceId);
      if (!now) return [];
      const rules = await this.rules.applicableRules(tx, scope, deviceId);
      const timed = opts.fromTimer || rules.some((r) => r.type === 'no_data' || (r.for_seconds ?? 0) > 0);
      const rows = timed ? await this.deadlines.forDevice(tx, deviceId) : new Map<number, DeadlineRow>();
      if (opts.fromTimer) {
        const applicable = new Set(rules.map((r) => Number(r.id)));
        for (const ruleId of rows.keys()) if (!applicable.has(ruleId)) await this.deadlines.remove(tx, ruleId, deviceId);
      }
      if (!rules.length) return [];
      const windowN = Math.max(0, ...rules.map((r) => r.window_n ?? 0));
      const readings = windowN ? await this.telemetry.window(tx, scope, deviceId, windowN) : [];
      const states = await this.alerts.pairStates(tx, scope, deviceId, rules.map((r) => Number(r.id)));
      const out: AlertChange[] = [];
      for (const rule of rules) {
        const ruleId = Number(rule.id);
        const state = states.get(ruleId) ?? { openAlertId: null, lastTriggeredAt: null };
        const row = rows.get(ruleId) ?? null;
        const plan =
          rule.type === 'no_data'
            ? await this.planNoData(tx, scope, deviceId, rule, state, row, now)
            : this.planThreshold(scope, deviceId, rule, state, row, readings, now);
        if (plan.transition === 'none' && !plan.deadline) continue;
        await tx.query('SAVEPOINT rule_change');
        try {
          let change: AlertChange | null = null;
          if (plan.transition === 'open') {
            change = await this.alerts.openInTx(tx, scope, {
              deviceId,
              ruleId,
              severity: rule.severity,
              details: { rule: ruleSnapshot(rule), evaluation: plan.evaluation },
            });
          } else if (plan.transition === 'resolve') {
            change = await this.alerts.resolveInTx(tx, scope, state.openAlertId!);
          }
          await plan.deadline?.(tx);
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

  /**
   * k-of-n, held for for_seconds before opening (the pending start is kept in the pair's
   * timer row, so a restart loses nothing and the timer opens it on time); once open, judged
   * against clear_threshold when the rule has one.
   */
  private planThreshold(
    scope: TenantScope,
    deviceId: number,
    rule: RuleRow,
    state: PairState,
    row: DeadlineRow | null,
    readings: readonly WindowReading[],
    now: Date,
  ): Plan {
    const ruleId = Number(rule.id);
    const result = evaluate(condition(rule), readings);
    const evaluation = {
      device_id: deviceId,
      match_count: result.match_count,
      considered: result.considered,
      latest_value: result.latest_value,
      latest_ts: result.latest_ts,
    };
    const drop = row ? (tx: EntityManager) => this.deadlines.remove(tx, ruleId, deviceId) : undefined;
    if (state.openAlertId !== null) {
      const stays = rule.clear_threshold === null ? result.holds : evaluate(condition(rule, rule.clear_threshold), readings).holds;
      return { transition: decide(state, stays, rule.cooldown_seconds, now), evaluation, deadline: drop };
    }
    const held = sustained(result.holds, row ? new Date(row.clock_at) : null, rule.for_seconds ?? 0, now);
    const transition = decide(state, held.holds, rule.cooldown_seconds, now);
    if (held.pendingSince === null || transition === 'open') return { transition, evaluation, deadline: drop };
    const pendingSince = held.pendingSince;
    const dueAt = nextCheck({
      openAfter: false,
      holds: held.holds,
      conditionDue: held.dueAt!,
      lastTriggeredAt: state.lastTriggeredAt,
      cooldownSeconds: rule.cooldown_seconds,
    });
    if (row && sameTime(row.due_at, dueAt)) return { transition, evaluation };
    return {
      transition,
      evaluation,
      deadline: (tx) =>
        row ? this.deadlines.setDue(tx, row, dueAt) : this.deadlines.put(tx, { ruleId, deviceId, projectId: scope.projectId, clockAt: pendingSince, dueAt }),
    };
  }

  /** Silence since the pair's clock started (docs/rules.md); a reading's arrival moves the clock. */
  private async planNoData(
    tx: EntityManager,
    scope: TenantScope,
    deviceId: number,
    rule: RuleRow,
    state: PairState,
    row: DeadlineRow | null,
    now: Date,
  ): Promise<Plan> {
    const ruleId = Number(rule.id);
    const noDataSeconds = rule.no_data_seconds!;
    if (!row) {
      // The device came under the rule by a path that left no row yet: its clock starts now.
      const dueAt = new Date(now.getTime() + noDataSeconds * 1000);
      return {
        transition: 'none',
        evaluation: {},
        deadline: (t) => this.deadlines.put(t, { ruleId, deviceId, projectId: scope.projectId, clockAt: now, dueAt }),
      };
    }
    const clock = { clockAt: new Date(row.clock_at), lastReadingAt: row.last_reading_at && new Date(row.last_reading_at) };
    const s = silence(clock, noDataSeconds, now);
    const transition = decide(state, s.silent, rule.cooldown_seconds, now);
    let evaluation: Record<string, unknown> = {};
    if (transition === 'open') {
      const last = clock.lastReadingAt ?? (rule.metric !== null ? await this.deadlines.lastArrival(tx, deviceId, rule.metric) : null);
      const known = last ? { clockAt: clock.clockAt, lastReadingAt: new Date(last) } : clock;
      evaluation = {
        device_id: deviceId,
        last_reading_at: known.lastReadingAt ? known.lastReadingAt.toISOString() : null,
        silent_seconds: silence(known, noDataSeconds, now).silentSeconds,
      };
    }
    const dueAt = nextCheck({
      openAfter: transition === 'open' || (state.openAlertId !== null && transition !== 'resolve'),
      holds: s.silent,
      conditionDue: s.deadline,
      lastTriggeredAt: state.lastTriggeredAt,
      cooldownSeconds: rule.cooldown_seconds,
    });
    if (sameTime(row.due_at, dueAt)) return { transition, evaluation };
    return { transition, evaluation, deadline: (t) => this.deadlines.setDue(t, row, dueAt) };
  }
}
