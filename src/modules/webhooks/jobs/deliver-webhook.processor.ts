import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { withJobContext } from '../../../core/logging/log-context';
import { QUEUES } from '../../../core/queue/queues';
import { WebhookDeliveryRunner } from '../delivery/webhook-delivery-runner.service';
import { DeliverWebhookPayload, deliverWebhookJob } from './deliver-webhook.job';

/** Jobs at once (each up to MAX_DELIVERIES_PER_JOB sends, capped per webhook inside the runner). */
const CONCURRENCY = 128;

@Processor(QUEUES.webhookDelivery)
export class DeliverWebhookProcessor {
  constructor(private readonly runner: WebhookDeliveryRunner) {}

  @Process({ name: deliverWebhookJob.name, concurrency: CONCURRENCY })
  handle(job: Job<DeliverWebhookPayload>): Promise<void> {
    const { orgId, projectId, webhookId, deliveryIds, pace } = job.data;
    return withJobContext(job, () => this.runner.attempt({ orgId, projectId }, webhookId, deliveryIds, pace));
  }
}
