import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import { Metrics } from '../../../core/metrics/metrics.service';
import { JobQueue } from '../../../core/queue/job-queue.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import type { Admission } from '../circuit/circuit-store';
import { WebhookCircuits } from '../circuit/webhook-circuits.service';
import { attemptOf, MAX_DELIVERIES_PER_HELD_JOB, queueAttempt } from '../jobs/deliver-webhook.job';
import { Pacer } from '../pacing/pacer';
import { after, dueNow, intervalMs, missedCount, turnAt, Turns } from '../pacing/pacing';
import { signingHeaders } from '../signing';
import { assertSafeWebhookUrl, UnsafeUrlError } from '../url-guard';
import { AttemptResult, ClaimedDelivery, WebhookDeliveriesRepository } from '../webhook-deliveries.repository';
import { WebhooksRepository } from '../webhooks.repository';
import { AttemptOutcome, classifyError, classifyResponse, retryDelayMs } from './outcome';
import { renderBody } from './webhook-body';
import { DeliveryStates } from './delivery-states.service';
import { HeldBack } from './held-back';
import { Slots } from './slots';
import { WebhookSender } from './webhook-sender';

/** Spreads deliveries released together (by an open circuit's probe time) over this window. */
const RELEASE_SPREAD_MS = 1000;

/**
 * Deliveries of one webhook held back (by its open circuit, or because it hangs) gather this
 * long with those of its other jobs before going back to the queue together.
 */
const GATHER_MS = 200;

/** What became of one delivery's turn: done (sent, or nothing to send), or back later. */
type Turn = { id: number; kind: 'done' } | { id: number; kind: 'aside' } | { id: number; kind: 'wait'; until: Date };

/** One attempt at each of a webhook's deliveries: admission by the shared circuit, claim, send, record, schedule. */
@Injectable()
export class WebhookDeliveryRunner {
  private readonly logger = new Logger('WebhookDelivery');
  private readonly inFlight = new Map<number, Slots>();
  private readonly held: HeldBack;
  private readonly leaseMs: number;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly states: DeliveryStates,
    private readonly webhooks: WebhooksRepository,
    private readonly circuits: WebhookCircuits,
    private readonly sender: WebhookSender,
    private readonly pacer: Pacer,
    private readonly queue: JobQueue,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.leaseMs = config.webhooks.connectTimeoutMs + config.webhooks.timeoutMs + 30_000;
    this.held = new HeldBack(GATHER_MS, (g) =>
      queueAttempt(queue, g.scope, { deliveryIds: g.ids, webhookId: g.webhookId, attempts: g.attempts, due: g.due }, MAX_DELIVERIES_PER_HELD_JOB),
    );
  }

  /** `pace`: the turns these deliveries hold at their webhook's pace, when they hold some. */
  async attempt(scope: TenantScope, webhookId: number, deliveryIds: number[], pace?: Turns): Promise<void> {
    const slots = this.slots(webhookId);
    slots.jobs++;
    try {
      await this.attemptWith(slots, scope, webhookId, deliveryIds, pace);
    } finally {
      slots.jobs--;
      if (slots.idle) this.inFlight.delete(webhookId);
    }
  }

  private async attemptWith(slots: Slots, scope: TenantScope, webhookId: number, deliveryIds: number[], pace?: Turns): Promise<void> {
    let ids = deliveryIds;
    let admission = await this.circuits.admit(webhookId);
    // The pace applies to what the circuit lets through; the circuit's wait spends no turn.
    if (admission.kind !== 'wait') ids = await this.paced(scope, webhookId, ids, pace);
    // A half-open circuit admits one probe: one delivery tries, the others go by its result.
    while (admission.kind === 'probe' && ids.length) {
      const [probe, ...rest] = ids;
      await this.settle(scope, webhookId, [await this.turn(slots, scope, probe, webhookId, admission)]);
      ids = rest;
      if (ids.length) admission = await this.circuits.admit(webhookId);
    }
    if (!ids.length) return;
    if (admission.kind === 'wait') return this.park(scope, ids, webhookId, admission.until);
    // A webhook that is failing or hanging with all its slots taken, or that has enough
    // deliveries waiting here already, steps aside without spending an attempt.
    if (slots.full && ((admission.kind === 'send' && admission.failures > 0) || slots.stalled)) return this.stepAside(scope, ids, webhookId, this.config.webhooks.timeoutMs);
    if (slots.crowded) return this.stepAside(scope, ids, webhookId, Math.min(slots.drainMs, this.config.webhooks.timeoutMs), 0.3);
    const turns = await Promise.allSettled(ids.map((id) => this.turn(slots, scope, id, webhookId, admission)));
    await this.settle(scope, webhookId, turns.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : [])));
    const failed = turns.find((t): t is PromiseRejectedResult => t.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Of deliveries of a paced webhook, those whose turn has come (docs/webhooks.md, "Pacing").
   * Deliveries without turns reserve consecutive ones now, from the pace every worker shares;
   * those whose turns lie ahead are queued again as one delayed job that holds them (their
   * rows say when, for the API and the sweeper), so the wait spends no attempt and holds no
   * worker slot. Turns a late job missed are given up for new ones.
   */
  private async paced(scope: TenantScope, webhookId: number, ids: number[], held?: Turns): Promise<number[]> {
    if (!held) {
      const rate = await this.pacer.rateOf(scope, webhookId);
      if (!rate || !ids.length) return ids;
      return this.takeTurns(scope, webhookId, ids, await this.pacer.reserve(webhookId, ids.length, rate), true);
    }
    const rate = await this.pacer.rateOf(scope, webhookId);
    // The webhook is gone: so are its deliveries. Its pace was removed or changed: the PATCH
    // released what waited (claims sort out what was sent since); left, at the new pace.
    if (rate === undefined) return [];
    if (rate === null) return ids;
    if (intervalMs(rate) !== held.every) return this.paced(scope, webhookId, ids);
    const missed = missedCount(held, ids.length, Date.now());
    const now = await this.takeTurns(scope, webhookId, ids.slice(missed), after(held, missed), false);
    if (!missed) return now;
    return [...now, ...(await this.paced(scope, webhookId, ids.slice(0, missed)))];
  }

  /** Those of `ids` (holding `turns`) whose turn came; the others are queued for theirs. */
  private async takeTurns(scope: TenantScope, webhookId: number, ids: number[], turns: Turns, reserved: boolean): Promise<number[]> {
    const k = dueNow(turns, ids.length, Date.now());
    if (k === ids.length) return ids;
    const rest = ids.slice(k);
    const later = after(turns, k);
    if (reserved) await Promise.all(rest.map((id, i) => this.states.postpone(scope, id, new Date(Math.ceil(turnAt(later, i))))));
    // A job woken before its first turn (clocks, rounding) must not collide with its own id.
    const tag = k === 0 && !reserved ? `paced-${Date.now()}` : 'paced';
    await queueAttempt(this.queue, scope, { deliveryIds: rest, webhookId, attempts: tag, due: later.at, pace: later }, MAX_DELIVERIES_PER_HELD_JOB);
    return ids.slice(0, k);
  }

  /** One delivery's turn at a slot of its webhook, then its attempt. */
  private async turn(slots: Slots, scope: TenantScope, id: number, webhookId: number, admission: Admission): Promise<Turn> {
    const waited = slots.full;
    if (!(await slots.acquire())) {
      // The sends ahead stopped finishing: it is hanging; step aside rather than hold a job.
      if (admission.kind === 'probe') await this.circuits.releaseProbe(webhookId);
      return { id, kind: 'aside' };
    }
    let answered: boolean | null = null;
    try {
      // The circuit may have opened while this delivery waited for its turn.
      const current = waited && admission.kind === 'send' ? await this.circuits.admit(webhookId) : admission;
      if (current.kind === 'wait') return { id, kind: 'wait', until: current.until };
      answered = await this.attemptAdmitted(scope, id, webhookId, current);
      return { id, kind: 'done' };
    } finally {
      slots.release(answered);
    }
  }

  /** Queues again, together, the deliveries whose turn did not come. */
  private async settle(scope: TenantScope, webhookId: number, turns: Turn[]): Promise<void> {
    const waits = turns.filter((t): t is Extract<Turn, { kind: 'wait' }> => t.kind === 'wait');
    const aside = turns.filter((t) => t.kind === 'aside').map((t) => t.id);
    if (waits.length) await this.park(scope, waits.map((t) => t.id), webhookId, waits[0].until);
    if (aside.length) await this.stepAside(scope, aside, webhookId, this.config.webhooks.timeoutMs);
  }

  /** Held back by an open circuit: they wait for its probe time without spending an attempt. */
  private async park(scope: TenantScope, ids: number[], webhookId: number, probeAt: Date): Promise<void> {
    const until = new Date(probeAt.getTime() + Math.random() * RELEASE_SPREAD_MS);
    const rows = await Promise.all(ids.map((id) => this.states.postpone(scope, id, until)));
    this.metrics.deliveries.inc({ outcome: 'waiting' }, ids.length);
    const waiting = rows.filter((r) => r !== null);
    if (!waiting.length) return;
    const next = attemptOf(waiting);
    await this.held.hold('wait', scope, webhookId, next.deliveryIds, next.attempts, next.due);
  }

  /**
   * Back when their turn can come, in `afterMs` times `from` to `from` + 0.4 (spread, and
   * early rather than late); no attempt spent.
   */
  private async stepAside(scope: TenantScope, ids: number[], webhookId: number, afterMs: number, from = 0.6): Promise<void> {
    await this.held.hold('aside', scope, webhookId, ids, 'busy', Date.now() + afterMs * (from + Math.random() * 0.4));
  }

  private slots(webhookId: number): Slots {
    let s = this.inFlight.get(webhookId);
    if (!s) {
      s = new Slots();
      this.inFlight.set(webhookId, s);
    }
    return s;
  }

  /** Whether the endpoint answered in a way that is not a reason to retry; null when nothing was sent. */
  private async attemptAdmitted(scope: TenantScope, deliveryId: number, webhookId: number, admission: Admission): Promise<boolean | null> {
    const probe = admission.kind === 'probe';
    // Admitted on a closed circuit with no failures counted: a success changes nothing there.
    const wasClean = admission.kind === 'send' && admission.failures === 0;
    const delivery = await this.states.claim(scope, deliveryId, this.leaseMs);
    if (!delivery || !delivery.enabled) {
      if (probe) await this.circuits.releaseProbe(webhookId);
      if (delivery) await this.deliveries.abandon(scope, deliveryId, 'webhook is disabled');
      return null;
    }
    try {
      await assertSafeWebhookUrl(delivery.url, { allowPrivate: this.config.webhooks.allowPrivateTargets });
    } catch (err) {
      if (!(err instanceof UnsafeUrlError)) throw err;
      if (probe) await this.circuits.releaseProbe(webhookId);
      await this.record(scope, delivery, { kind: 'fail', statusCode: null, error: `refused: ${err.reason}` }, 0);
      return null;
    }
    const body = renderBody(delivery.payload);
    // Signed with the secrets valid at this attempt, a retry of a delivery made before a rotation included.
    const headers = signingHeaders({ deliveryId: Number(delivery.id), secrets: delivery.secrets, body });
    const started = performance.now();
    let outcome: AttemptOutcome;
    try {
      outcome = await this.circuits.fire(webhookId, { probe, wasClean }, () =>
        this.sender.send(delivery.url, body, headers).then(
          (res) => classifyResponse(res.statusCode, res.retryAfter),
          (err) => classifyError(err),
        ),
      );
    } catch (err) {
      // Our side failed (Redis, say): hand the claim back and let Bull retry the job.
      await this.deliveries.unclaim(scope, deliveryId, new Date());
      throw err;
    }
    await this.record(scope, delivery, outcome, performance.now() - started);
    return outcome.kind !== 'retry';
  }

  private async record(scope: TenantScope, d: ClaimedDelivery, outcome: AttemptOutcome, durationMs: number): Promise<void> {
    const attempt = d.attempts + 1;
    const retriesUsed = attempt - d.chain_start - 1;
    const statusCode = outcome.statusCode;
    const error = outcome.kind === 'success' ? null : outcome.error;
    let result: AttemptResult['status'] = outcome.kind === 'success' ? 'success' : 'failed';
    let next: Date | null = null;
    if (outcome.kind === 'retry' && retriesUsed < this.config.webhooks.maxRetries) {
      result = 'retrying';
      next = new Date(Date.now() + retryDelayMs(retriesUsed + 1, this.config.webhooks.retryBaseMs, outcome.retryAfterMs));
    }
    await this.states.finish(scope, Number(d.id), {
      status: result,
      statusCode,
      error,
      nextAttemptAt: next,
      entry: { attempt, at: new Date().toISOString(), status_code: statusCode, error, duration_ms: Math.round(durationMs) },
    });
    this.metrics.deliveries.inc({ outcome: result });
    if (result !== 'success') {
      const then = next ? `; next attempt at ${next.toISOString()}` : '';
      this.logger.warn(`delivery ${d.id} to webhook ${d.webhook_id}: attempt ${attempt} ${result}: ${error}${then}`);
    }
    if (outcome.kind === 'gone') {
      await this.webhooks.update(scope, Number(d.webhook_id), { enabled: false, disabledReason: 'the endpoint answered 410 Gone' });
      this.logger.warn(`webhook ${d.webhook_id} disabled: its endpoint answered 410`);
    }
    if (next) await queueAttempt(this.queue, scope, { deliveryIds: [Number(d.id)], webhookId: Number(d.webhook_id), attempts: attempt, due: next });
  }
}
