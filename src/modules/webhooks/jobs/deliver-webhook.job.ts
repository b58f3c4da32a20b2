import { defineJob, QUEUES } from '../../../core/queue/queues';

export interface DeliverWebhookPayload {
  orgId: number;
  projectId: number;
  deliveryId: number;
  webhookId: number;
}

/**
 * One attempt at a delivery (the next one is a new, delayed job). Job ids are
 * `dlv:<delivery>:<attempts made>:<due time>`, so the sweeper re-creating a lost job and the
 * scheduler creating it meet on the same id; a duplicate that slips through finds the
 * delivery claimed or not due and does nothing. Bull's own retries only cover our failures
 * (database or Redis down), never the subscriber's.
 */
export const deliverWebhookJob = defineJob<DeliverWebhookPayload>({
  queue: QUEUES.webhookDelivery,
  name: 'deliver',
  options: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: 1000,
  },
});

export const deliveryJobId = (deliveryId: number, attempts: number, due: Date | number): string =>
  `dlv:${deliveryId}:${attempts}:${typeof due === 'number' ? due : due.getTime()}`;
