import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction, inTransactionOpenedBy } from '../../../core/database/transaction';
import { isUnavailable } from '../../../core/errors/unavailable';
import { Metrics } from '../../../core/metrics/metrics.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { decide, PairState, Transition } from '../../alerts/alert-state';
import { AlertChange, AlertsService } from '../../alerts/alerts.service';
import { RuleRow, RulesRepository } from '../rules.repository';
import { DeadlineRow, DeadlinesRepository } from '../scheduling/deadlines.repository';
import { evaluationWork } from '../scheduling/fair-queueing';
import { conditionKey, RuleCondition, verdict, WindowCondition, WindowCount } from './k-of-n';
import { nextCheck, silence, sustained } from './timers';
import { WindowCountsRepository } from './window-counts.repository';

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

/** What the evaluation of a device did, in `evaluationWork`'s units (fair queueing compares projects by it). */
interface EvaluationWork {
  total: number;
}

/**
 * How a pass makes its changes: `contained`, each rule's under a savepoint (a failing rule
 * undoes only its own); `direct`, without savepoints (one failure fails the pass); `batched`,
 * also without, and the pass's alerts opened together in one insert (their triggered_at may
 * then be equal, ordered by id).
 */
type PassMode = 'contained' | 'direct' | 'batched';

/**
 * Whether a pass that failed without savepoints is run again contained: when one of its
 * statements failed, not when Postgres (or Redis) is away, where it would only fail again,
 * after another wait for a connection (the job's retry, or the timer's next look, comes later).
 */
const worthContaining = (err: unknown) => !isUnavailable(err);

/** A change to a pair's timer row: `due` ones are written together at the end of the pass. */
type TimerChange = { kind: 'due'; row: DeadlineRow; dueAt: Date | null } | { kind: 'put'; clockAt: Date; dueAt: Date | null } | { kind: 'remove' };

/** What a device's evaluation reads first, when it travels with the transaction's BEGIN. */
interface OpeningReads {
  rulesOf: Map<number, RuleRow[]>;
  rowsOf: Map<number, Map<number, DeadlineRow>>;
  statesOf: Map<number, Map<number, PairState>>;
}

/** What the evaluation of one rule on the device decided, and the change to its timer row. */
interface Plan {
  transition: Transition;
  evaluation: Record<string, unknown>;
  timer?: TimerChange;
}

interface Target {
  scope: TenantScope;
  deviceId: number;
}

interface Opening extends Target {
  ruleId: number;
  severity: string;
  details: Record<string, unknown>;
}

/**
 * Evaluates every applicable rule of a device in one pass: one statement counts every
 * threshold rule's condition over the device's newest max(window_n) readings, one read of
 * timer rows serves the no-data and for_seconds ones. The pass runs in a transaction holding the device's advisory
 * lock, so concurrent workers (and the deadline timer) serialise per device. A pass that
 * fails runs again with each rule's change under a savepoint, so one failing rule never undoes
 * or stops the others.
 */
@Injectable()
export class RuleEvaluationService {
  private readonly logger = new Logger('Evaluation');

  constructor(
    private readonly ds: DataSource,
    private readonly rules: RulesRepository,
    private readonly deadlines: DeadlinesRepository,
    private readonly windows: WindowCountsRepository,
    private readonly alerts: AlertsService,
    private readonly metrics: Metrics,
  ) {}

  /**
   * After readings landed: waits for the device's lock, then evaluates its rules. Also answers
   * the evaluation's work (see EvaluationWork), which decides how fairly its next one queues.
   * `windowAfter`: the device's readings are counted only once it resolves (and not at all if
   * it fails), while the lock, rules and states are read meanwhile.
   */
  async evaluateDevice(scope: TenantScope, deviceId: number, windowAfter?: Promise<unknown>): Promise<{ changes: AlertChange[]; work: number }> {
    const device = [{ scope, deviceId }];
    // First without a savepoint around each rule's change (two round trips fewer per change,
    // on the path from a breach to its webhook); if a statement fails, that pass rolls back and
    // the device is evaluated again contained, where a failing rule never undoes or stops
    // the others.
    const work: EvaluationWork = { total: 0 };
    try {
      return { changes: await this.evaluate(device, false, 'direct', work, windowAfter), work: work.total };
    } catch (err) {
      if (!worthContaining(err)) throw err;
      this.logger.warn(`evaluation of device ${deviceId} failed (${(err as Error).message}); evaluating it rule by rule`);
      work.total = 0;
      return { changes: await this.evaluate(device, false, 'contained', work, windowAfter), work: work.total };
    }
  }

  /**
   * The deadline timer's call, for devices with a due deadline: one transaction (one commit,
   * and one read of rules, timer rows and alert states) for the lot, which is what lets a
   * thousand silences that come due together fire within a second or two. A device another
   * transaction holds is skipped (that one evaluates the same rules; its row stays due and the
   * next look finds it), and timer rows of rules that no longer apply are dropped.
   */
  async evaluateDue(devices: readonly Target[]): Promise<AlertChange[]> {
    if (devices.length === 1) return this.evaluate(devices, true);
    // Without a savepoint per change, and with the batch's alerts opened in one insert (a
    // fraction of the round trips): if anything fails, the batch rolls back and each device is
    // evaluated on its own, where a failing rule stays contained.
    try {
      return await this.evaluate(devices, true, 'batched');
    } catch (err) {
      if (!worthContaining(err)) throw err;
      this.logger.warn(`a batch of ${devices.length} due devices failed (${(err as Error).message}); evaluating them one by one`);
      const out: AlertChange[] = [];
      for (const d of devices) out.push(...(await this.evaluate([d], true).catch(() => [])));
      return out;
    }
  }

  private async evaluate(
    devices: readonly Target[],
    fromTimer: boolean,
    mode: PassMode = 'contained',
    work: EvaluationWork = { total: 0 },
    windowAfter?: Promise<unknown>,
  ): Promise<AlertChange[]> {
    const done = this.metrics.evaluationSeconds.startTimer();
    const pass = async (tx: EntityManager, now: Date, locked: readonly Target[], read?: OpeningReads): Promise<AlertChange[]> => {
      if (!locked.length) return [];
      const keys = locked.map((d) => ({ projectId: d.scope.projectId, deviceId: d.deviceId }));
      const rulesOf = read?.rulesOf ?? (await this.rules.applicableRules(tx, keys));
      const timed = fromTimer || [...rulesOf.values()].some((rs) => rs.some((r) => r.type === 'no_data' || (r.for_seconds ?? 0) > 0));
      const rowsOf = !timed ? new Map<number, Map<number, DeadlineRow>>() : (read?.rowsOf ?? (await this.deadlines.forDevices(tx, keys.map((k) => k.deviceId))));
      const statesOf = read?.statesOf ?? (rulesOf.size ? await this.alerts.pairStates(tx, keys) : new Map<number, Map<number, PairState>>());
      // Nothing of the window is read before this resolves (the processor's generation bump).
      await windowAfter;
      const out: AlertChange[] = [];
      const dues: { row: DeadlineRow; dueAt: Date | null }[] = [];
      const opens: Opening[] = [];
      for (const d of locked) {
        const rules = rulesOf.get(d.deviceId) ?? [];
        const rows = rowsOf.get(d.deviceId) ?? new Map<number, DeadlineRow>();
        if (fromTimer) {
          const applicable = new Set(rules.map((r) => Number(r.id)));
          for (const ruleId of rows.keys()) if (!applicable.has(ruleId)) await this.deadlines.remove(tx, ruleId, d.deviceId);
        }
        if (!rules.length) continue;
        const states = statesOf.get(d.deviceId) ?? new Map<number, PairState>();
        out.push(...(await this.evaluateRules(tx, d, rules, rows, states, now, { dues, opens: mode === 'batched' ? opens : null, savepoints: mode === 'contained' }, work)));
      }
      out.push(...(await this.alerts.openManyInTx(tx, opens)));
      await this.deadlines.setDue(tx, dues);
      return out;
    };
    // A device's own evaluation takes its lock with the transaction's BEGIN, and reads its
    // rules, timer rows and alert states in the same message (one round trip for all four);
    // the timer's batch takes the locks it can get, then reads for the devices it holds.
    const changes = fromTimer
      ? await inTransaction(this.ds, async (tx) => {
          const held = await this.rules.tryLockDevices(tx, devices.map((d) => d.deviceId));
          return pass(tx, held.now, devices.filter((d) => held.locked.has(d.deviceId)));
        })
      : await this.openedFor(devices[0], (tx, now, read) => pass(tx, now, devices, read));
    done();
    // The deliveries are committed (the outbox): failing to queue or publish now loses nothing.
    await this.alerts.afterCommit(changes, 'evaluation').catch((err) => this.logger.warn(`after-commit work failed: ${err.message}`));
    return changes;
  }

  /**
   * A transaction on one device opened by its lock and the reads of its evaluation, sent with
   * the BEGIN in one message (inTransactionOpenedBy): the reads run after the lock is granted,
   * so they see what every earlier evaluation of the device committed.
   */
  private openedFor<T>({ scope, deviceId }: Target, work: (tx: EntityManager, now: Date, read: OpeningReads) => Promise<T>): Promise<T> {
    const keys = [{ projectId: scope.projectId, deviceId }];
    const reads = [this.rules.lockDevice(deviceId), this.rules.applicableRulesRead(keys), this.deadlines.forDevicesRead([deviceId]), this.alerts.pairStatesRead(keys)] as const;
    return inTransactionOpenedBy(this.ds, reads, (tx, [{ now }, rulesOf, rowsOf, statesOf]) => work(tx, now, { rulesOf, rowsOf, statesOf }));
  }

  /** The applicable rules of one device whose advisory lock the transaction holds. */
  private async evaluateRules(
    tx: EntityManager,
    { scope, deviceId }: Target,
    rules: RuleRow[],
    rows: Map<number, DeadlineRow>,
    states: Map<number, PairState>,
    now: Date,
    deferred: { dues: { row: DeadlineRow; dueAt: Date | null }[]; opens: Opening[] | null; savepoints: boolean },
    work: EvaluationWork,
  ): Promise<AlertChange[]> {
    const { dues, opens, savepoints } = deferred;
    const countOf = await this.countWindows(tx, scope, deviceId, rules, states, work);
    const out: AlertChange[] = [];
    for (const rule of rules) {
      const ruleId = Number(rule.id);
      const state = states.get(ruleId) ?? { openAlertId: null, lastTriggeredAt: null };
      const row = rows.get(ruleId) ?? null;
      const plan =
        rule.type === 'no_data'
          ? await this.planNoData(tx, deviceId, rule, state, row, now)
          : this.planThreshold(deviceId, rule, state, row, countOf, now);
      const timer = plan.timer;
      const opening = { scope, deviceId, ruleId, severity: rule.severity, details: { rule: ruleSnapshot(rule), evaluation: plan.evaluation } };
      if (opens && plan.transition === 'open' && (!timer || timer.kind === 'due')) {
        // Batched (a timer batch): the alert opens with the batch's others, in one insert.
        opens.push(opening);
        if (timer) dues.push(timer);
        continue;
      }
      if (plan.transition === 'none' && (!timer || timer.kind === 'due')) {
        if (timer) dues.push(timer as { row: DeadlineRow; dueAt: Date | null });
        continue;
      }
      if (savepoints) await tx.query('SAVEPOINT rule_change');
      try {
        let change: AlertChange | null = null;
        if (plan.transition === 'open') {
          change = await this.alerts.openInTx(tx, scope, opening);
        } else if (plan.transition === 'resolve') {
          change = await this.alerts.resolveInTx(tx, scope, state.openAlertId!);
        }
        if (timer?.kind === 'put') await this.deadlines.put(tx, { ruleId, deviceId, projectId: scope.projectId, clockAt: timer.clockAt, dueAt: timer.dueAt });
        if (timer?.kind === 'remove') await this.deadlines.remove(tx, ruleId, deviceId);
        if (savepoints) await tx.query('RELEASE SAVEPOINT rule_change');
        if (timer?.kind === 'due') dues.push(timer);
        if (change) out.push(change);
      } catch (err) {
        if (!savepoints) throw err;
        await tx.query('ROLLBACK TO SAVEPOINT rule_change');
        this.logger.error(`rule ${ruleId} on device ${deviceId}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /**
   * Every count the device's threshold rules need, in one statement: each rule's condition,
   * and its clear_threshold's while its alert is open. Rules counting the same thing share.
   */
  private async countWindows(
    tx: EntityManager,
    scope: TenantScope,
    deviceId: number,
    rules: RuleRow[],
    states: Map<number, PairState>,
    work: EvaluationWork,
  ): Promise<(c: WindowCondition) => WindowCount> {
    const wanted = new Map<string, WindowCondition>();
    for (const r of rules) {
      if (r.type === 'no_data' || r.metric === null || !(r.window_n! > 0)) continue;
      const open = (states.get(Number(r.id))?.openAlertId ?? null) !== null;
      for (const c of open && r.clear_threshold !== null ? [condition(r), condition(r, r.clear_threshold)] : [condition(r)]) wanted.set(conditionKey(c), c);
    }
    const conditions = [...wanted.values()];
    const counts = await this.windows.count(tx, scope, deviceId, conditions);
    const byKey = new Map(conditions.map((c, i) => [conditionKey(c), counts[i]]));
    work.total += evaluationWork(rules.length, Math.max(0, ...counts.map((c) => c.considered)), conditions.length);
    // A rule without a window (none pass validation) counts nothing, as over an empty window.
    return (c) => byKey.get(conditionKey(c)) ?? { match_count: 0, considered: 0, latest_value: null, latest_ts: null };
  }

  /**
   * k-of-n, held for for_seconds before opening (the pending start is kept in the pair's
   * timer row, so a restart loses nothing and the timer opens it on time); once open, judged
   * against clear_threshold when the rule has one.
   */
  private planThreshold(
    deviceId: number,
    rule: RuleRow,
    state: PairState,
    row: DeadlineRow | null,
    countOf: (c: WindowCondition) => WindowCount,
    now: Date,
  ): Plan {
    const result = verdict(condition(rule), countOf(condition(rule)));
    const evaluation = {
      device_id: deviceId,
      match_count: result.match_count,
      considered: result.considered,
      latest_value: result.latest_value,
      latest_ts: result.latest_ts,
    };
    const drop: TimerChange | undefined = row ? { kind: 'remove' } : undefined;
    if (state.openAlertId !== null) {
      const stays = rule.clear_threshold === null ? result.holds : verdict(condition(rule, rule.clear_threshold), countOf(condition(rule, rule.clear_threshold))).holds;
      return { transition: decide(state, stays, rule.cooldown_seconds, now), evaluation, timer: drop };
    }
    const held = sustained(result.holds, row ? new Date(row.clock_at) : null, rule.for_seconds ?? 0, now);
    const transition = decide(state, held.holds, rule.cooldown_seconds, now);
    if (held.pendingSince === null || transition === 'open') return { transition, evaluation, timer: drop };
    const pendingSince = held.pendingSince;
    const dueAt = nextCheck({
      openAfter: false,
      holds: held.holds,
      conditionDue: held.dueAt!,
      lastTriggeredAt: state.lastTriggeredAt,
      cooldownSeconds: rule.cooldown_seconds,
    });
    if (!row) return { transition, evaluation, timer: { kind: 'put', clockAt: pendingSince, dueAt } };
    return sameTime(row.due_at, dueAt) ? { transition, evaluation } : { transition, evaluation, timer: { kind: 'due', row, dueAt } };
  }

  /** Silence since the pair's clock started (docs/rules.md); a reading's arrival moves the clock. */
  private async planNoData(
    tx: EntityManager,
    deviceId: number,
    rule: RuleRow,
    state: PairState,
    row: DeadlineRow | null,
    now: Date,
  ): Promise<Plan> {
    const noDataSeconds = rule.no_data_seconds!;
    if (!row) {
      // The device came under the rule by a path that left no row yet: its clock starts now.
      return { transition: 'none', evaluation: {}, timer: { kind: 'put', clockAt: now, dueAt: new Date(now.getTime() + noDataSeconds * 1000) } };
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
    return sameTime(row.due_at, dueAt) ? { transition, evaluation } : { transition, evaluation, timer: { kind: 'due', row, dueAt } };
  }
}
