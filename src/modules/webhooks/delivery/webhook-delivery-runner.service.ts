import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import { Metrics } from '../../../core/metrics/metrics.service';
import { JobQueue } from '../../../core/queue/job-queue.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import type { Admission } from '../circuit/circuit-store';
import { WebhookCircuits } from '../circuit/webhook-circuits.service';
import { queueAttempt } from '../jobs/deliver-webhook.job';
import { signingHeaders } from '../signing';
import { assertSafeWebhookUrl, UnsafeUrlError } from '../url-guard';
import { AttemptResult, ClaimedDelivery, WebhookDeliveriesRepository } from '../webhook-deliveries.repository';
import { WebhooksRepository } from '../webhooks.repository';
import { AttemptOutcome, classifyError, classifyResponse, retryDelayMs } from './outcome';
import { renderBody } from './webhook-body';
import { DeliveryStates } from './delivery-states.service';
import { WebhookSender } from './webhook-sender';

/**
 * Sends in flight per webhook in this process: a webhook starts at the floor and earns one
 * more slot with each success, up to the ceiling; any failure drops it back to the floor
 * (slow start, as TCP does). A healthy endpoint gets the concurrency its latency needs, while a
 * failing or hanging one (timeouts take seconds) holds few worker slots before its circuit
 * opens; its deliveries over the limit step aside for a moment without spending an attempt.
 */
const MIN_IN_FLIGHT_PER_WEBHOOK = 16;
const MAX_IN_FLIGHT_PER_WEBHOOK = 48;
/** A webhook none of whose sends finished for this long, with all its slots taken, is slow. */
const SLOW_SEND_MS = 500;
/** Spreads deliveries released together (by an open circuit's probe time) over this window. */
const RELEASE_SPREAD_MS = 1000;

/** A counting semaphore whose size follows the webhook's health; the rest wait in order. */
export class Slots {
  busy = 0;
  size = MIN_IN_FLIGHT_PER_WEBHOOK;
  lastRelease = Date.now();
  private readonly waiters: (() => void)[] = [];
  get idle(): boolean {
    return this.busy === 0 && this.waiters.length === 0;
  }
  get full(): boolean {
    return this.busy >= this.size;
  }
  /** Resolves true with a slot, or false when none came within `waitMs`. */
  acquire(waitMs: number): Promise<boolean> {
    if (this.busy < this.size) {
      this.busy++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, waitMs);
      this.waiters.push(waiter);
    });
  }
  /** Hands the slot on; `ok` says whether the send it held succeeded (null: nothing was sent). */
  release(ok: boolean | null): void {
    this.lastRelease = Date.now();
    if (ok === true) this.size = Math.min(MAX_IN_FLIGHT_PER_WEBHOOK, this.size + 1);
    else if (ok === false) this.size = MIN_IN_FLIGHT_PER_WEBHOOK;
    this.busy--;
    while (this.busy < this.size && this.waiters.length) {
      this.busy++;
      this.waiters.shift()!();
    }
  }
}

/** One attempt at one delivery: admission by the shared circuit, claim, send, record, schedule. */
@Injectable()
export class WebhookDeliveryRunner {
  private readonly logger = new Logger('WebhookDelivery');
  private readonly inFlight = new Map<number, Slots>();
  private readonly leaseMs: number;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly states: DeliveryStates,
    private readonly webhooks: WebhooksRepository,
    private readonly circuits: WebhookCircuits,
    private readonly sender: WebhookSender,
    private readonly queue: JobQueue,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.leaseMs = config.webhooks.connectTimeoutMs + config.webhooks.timeoutMs + 30_000;
  }

  async attempt(scope: TenantScope, deliveryId: number, webhookId: number): Promise<void> {
    const admission = await this.circuits.admit(webhookId);
    if (admission.kind === 'wait') return this.park(scope, deliveryId, webhookId, admission.until);
    // A webhook over its share of sends that is failing, or slow (none of its sends finished
    // lately), steps aside without spending an attempt; a healthy one waits here for a turn.
    const slots = this.slots(webhookId);
    const full = slots.full;
    if (full && admission.kind === 'send' && (admission.failures > 0 || Date.now() - slots.lastRelease > SLOW_SEND_MS)) {
      return this.stepAside(scope, deliveryId, webhookId);
    }
    if (!(await slots.acquire(SLOW_SEND_MS))) {
      // No turn came: its sends are hanging; step aside rather than hold a worker slot.
      if (admission.kind === 'probe') await this.circuits.releaseProbe(webhookId);
      return this.stepAside(scope, deliveryId, webhookId);
    }
    let answered: boolean | null = null;
    try {
      // The circuit may have opened while this delivery waited for its turn.
      const current = full && admission.kind === 'send' ? await this.circuits.admit(webhookId) : admission;
      if (current.kind === 'wait') await this.park(scope, deliveryId, webhookId, current.until);
      else answered = await this.attemptAdmitted(scope, deliveryId, webhookId, current);
    } finally {
      slots.release(answered);
      if (slots.idle) this.inFlight.delete(webhookId);
    }
  }

  /** Held back by an open circuit: waits for its probe time without spending an attempt. */
  private async park(scope: TenantScope, deliveryId: number, webhookId: number, probeAt: Date): Promise<void> {
    const until = new Date(probeAt.getTime() + Math.random() * RELEASE_SPREAD_MS);
    const waiting = await this.states.postpone(scope, deliveryId, until);
    this.metrics.deliveries.inc({ outcome: 'waiting' });
    if (waiting) await queueAttempt(this.queue, scope, { deliveryId, webhookId, attempts: waiting.attempts, due: waiting.next_attempt_at });
  }

  /** Back when the sends in flight have had their time to finish, not sooner (no churn). */
  private async stepAside(scope: TenantScope, deliveryId: number, webhookId: number): Promise<void> {
    const due = Date.now() + this.config.webhooks.timeoutMs * (0.5 + Math.random() / 2);
    await queueAttempt(this.queue, scope, { deliveryId, webhookId, attempts: 'busy', due });
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
    const headers = signingHeaders({ deliveryId: Number(delivery.id), secret: delivery.secret, body });
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
      await this.deliveries.postpone(scope, deliveryId, new Date());
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
    if (next) await queueAttempt(this.queue, scope, { deliveryId: Number(d.id), webhookId: Number(d.webhook_id), attempts: attempt, due: next });
  }
}
