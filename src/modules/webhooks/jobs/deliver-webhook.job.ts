import type { JobQueue } from '../../../core/queue/job-queue.service';
import { defineJob, QUEUES } from '../../../core/queue/queues';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';

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

/**
 * Queues one attempt of a delivery, to run at `due` (0 or a past time: now). `attempts` is the
 * number made so far, or a tag for a turn that is not an attempt's (a step aside).
 */
export function queueAttempt(
  queue: JobQueue,
  scope: TenantScope,
  a: { deliveryId: number; webhookId: number; attempts: number | string; due: Date | number },
): Promise<unknown> {
  const due = typeof a.due === 'number' ? a.due : a.due.getTime();
  return queue.enqueue(
    deliverWebhookJob,
    { orgId: scope.orgId, projectId: scope.projectId, deliveryId: a.deliveryId, webhookId: a.webhookId },
    { jobId: `dlv:${a.deliveryId}:${a.attempts}:${due}`, delay: Math.max(0, due - Date.now()) },
  );
}
