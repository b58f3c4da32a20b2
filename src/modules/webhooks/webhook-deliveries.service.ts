import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ConflictError, NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import { JobQueue } from '../../core/queue/job-queue.service';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { FirstAttempts } from './delivery/first-attempts';
import { AlertNotification, TEST_EVENT, testPayload, toDeliveryPayload } from './delivery/webhook-body';
import { DeliveryDetailResponse, DeliveryResponse, DeliveryStatus } from './dto/webhook.dto';
import { attemptOf, byWebhook, queueAttempt } from './jobs/deliver-webhook.job';
import { DeliveryRow, WebhookDeliveriesRepository } from './webhook-deliveries.repository';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export const toDeliveryResponse = (d: DeliveryRow): DeliveryResponse => ({
  id: Number(d.id),
  project_id: Number(d.project_id),
  alert_id: d.alert_id === null ? null : Number(d.alert_id),
  webhook_id: Number(d.webhook_id),
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.last_status_code,
  last_error: d.last_error,
  next_attempt_at: iso(d.next_attempt_at),
  delivered_at: iso(d.delivered_at),
  created_at: new Date(d.created_at).toISOString(),
});

/** Deliveries written by an alert change, to be queued once its transaction commits. */
export interface RecordedDeliveries {
  scope: TenantScope;
  deliveries: { id: number; webhook_id: number }[];
}

const deliveryNotFound = () => new NotFoundError('WEBHOOK_DELIVERY.NOT_FOUND', 'webhook delivery not found');

@Injectable()
export class WebhookDeliveriesService {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly repo: WebhookDeliveriesRepository,
    private readonly queue: JobQueue,
    private readonly firstAttempts: FirstAttempts,
  ) {}

  /**
   * The outbox: call inside the transaction that changes the alerts, with every notification
   * it sends (one statement for all). Returns each notification's deliveries, in order.
   */
  async recordInTx(tx: EntityManager, items: readonly { scope: TenantScope; n: AlertNotification }[]): Promise<RecordedDeliveries[]> {
    const rows = await this.repo.insertForEvents(
      tx,
      items.map(({ scope, n }) => ({ projectId: scope.projectId, event: n.type, alertId: n.alert.id, deviceId: n.alert.device_id, payload: toDeliveryPayload(n) })),
    );
    const of = new Map(items.map(({ scope, n }) => [`${n.alert.id}|${n.type}`, { scope, deliveries: [] } as RecordedDeliveries]));
    for (const r of rows) of.get(`${r.alert_id}|${r.event}`)!.deliveries.push({ id: Number(r.id), webhook_id: Number(r.webhook_id) });
    return items.map(({ n }) => of.get(`${n.alert.id}|${n.type}`)!);
  }

  /**
   * After the commit: the first attempt of each, made at once by this process when it sends
   * webhooks (FirstAttempts), else queued. Failing here loses nothing (the rows are committed
   * and the sweeper queues what was not), so it only logs.
   */
  async dispatch(recorded: RecordedDeliveries[]): Promise<void> {
    // One attempt (or job) per webhook for everything this commit wrote (a webhook belongs to one project).
    const rows = recorded.flatMap(({ scope, deliveries }) => deliveries.map((d) => ({ ...d, scope })));
    const jobs = [...byWebhook(rows)].map(([webhookId, ds]) => {
      const deliveryIds = ds.map((d) => d.id);
      if (this.firstAttempts.tryRun(ds[0].scope, webhookId, deliveryIds)) return Promise.resolve();
      return queueAttempt(this.queue, ds[0].scope, { deliveryIds, webhookId, attempts: 0, due: 0 });
    });
    const results = await Promise.allSettled(jobs);
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed) this.logger.warn(`${failed} delivery jobs not queued now; the sweeper will queue their deliveries`);
  }

  /** A test event to one webhook, queued at once (the caller checked that the webhook is enabled). */
  async sendTest(scope: TenantScope, webhookId: number): Promise<DeliveryResponse> {
    const row = await this.repo.insertOne(scope, webhookId, { event: TEST_EVENT, payload: testPayload(scope.projectId) });
    if (!row) throw new NotFoundError('WEBHOOK.NOT_FOUND', 'webhook not found');
    // Queued after the row committed; were this lost, the sweeper would queue it.
    await queueAttempt(this.queue, scope, { deliveryIds: [Number(row.id)], webhookId, attempts: 0, due: 0 }).catch((err: Error) =>
      this.logger.warn(`test delivery ${row.id} not queued now (${err.message}); the sweeper will queue it`),
    );
    return toDeliveryResponse(row);
  }

  /** After an operator closed a webhook's circuit: what waited on it goes now. */
  async releaseWaiting(scope: TenantScope, webhookId: number): Promise<number> {
    const rows = await this.repo.releaseWaiting(scope, webhookId);
    if (rows.length) await queueAttempt(this.queue, scope, { webhookId, ...attemptOf(rows) });
    return rows.length;
  }

  async list(scope: TenantScope, status: DeliveryStatus | undefined, page: PageRequest): Promise<Page<DeliveryResponse>> {
    return Page.of(await this.repo.list(scope, status, page), page, toDeliveryResponse);
  }

  async get(scope: TenantScope, id: number): Promise<DeliveryDetailResponse> {
    const row = await this.repo.get(scope, id);
    if (!row) throw deliveryNotFound();
    return { ...toDeliveryResponse(row), attempt_log: row.attempt_log ?? [] };
  }

  /** Sends a finished (failed, or successful) delivery again: same body, same `webhook-id`. */
  async retry(scope: TenantScope, id: number): Promise<DeliveryResponse> {
    const row = await this.repo.restart(scope, id);
    if (!row) {
      const current = await this.repo.get(scope, id);
      if (!current) throw deliveryNotFound();
      throw new ConflictError('WEBHOOK_DELIVERY.IN_PROGRESS', `delivery is ${current.status}; only a failed or successful delivery can be sent again`);
    }
    await queueAttempt(this.queue, scope, {
      deliveryIds: [Number(row.id)],
      webhookId: Number(row.webhook_id),
      attempts: row.attempts,
      due: row.next_attempt_at ?? 0,
    });
    return toDeliveryResponse(row);
  }
}
