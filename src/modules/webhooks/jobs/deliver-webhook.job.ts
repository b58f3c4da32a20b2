import type { JobQueue } from '../../../core/queue/job-queue.service';
import { defineJob, QUEUES } from '../../../core/queue/queues';
import { retryForever } from '../../../core/queue/retry-policy';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { turnAt, Turns } from '../pacing/pacing';

export interface DeliverWebhookPayload {
  orgId: number;
  projectId: number;
  webhookId: number;
  /** Deliveries of this one webhook that are due together (an alert change's, say). */
  deliveryIds: number[];
  /** Turns these deliveries hold at their webhook's pace (the i-th at at + i·every), if they hold any. */
  pace?: Turns;
}

/**
 * Deliveries per job. A job asks the circuit once, claims and records its deliveries in a
 * few statements and costs Bull one round trip, where a job per delivery cost each of those.
 */
export const MAX_DELIVERIES_PER_JOB = 100;
/**
 * Deliveries per job when they were held back (an open circuit, a hanging endpoint): the
 * runner gathers them from many jobs of their webhook, and while the endpoint stays down each
 * such job is fetched, asks the circuit and is put back again, so fewer, larger jobs make a
 * long outage cheap. A turn still sends only as many at once as the webhook's slots allow.
 */
export const MAX_DELIVERIES_PER_HELD_JOB = 1000;

/** A delivery job that failed on our side (Postgres or Redis down) runs again this much later, doubling. */
export const DELIVERY_RETRY_MS = 1000;

/**
 * One attempt at each of a webhook's deliveries (each one's next attempt is a new, delayed
 * job). Job ids are `dlv:<first delivery>[+<more>]:<attempts made>:<due time>`, so the sweeper
 * re-creating a lost job and the scheduler creating it meet on the same id; a duplicate that
 * slips through finds its deliveries claimed or not due and does nothing. Bull's own retries
 * only cover our failures (database or Redis down), never the subscriber's.
 */
export const deliverWebhookJob = defineJob<DeliverWebhookPayload>({
  queue: QUEUES.webhookDelivery,
  name: 'deliver',
  // Retried without limit: a job that gave up would keep its id in the failed list, and the
  // sweeper's re-creation of it (same id) would then be ignored for good.
  options: { ...retryForever(DELIVERY_RETRY_MS), removeOnComplete: true },
});

/**
 * Queues one attempt of each of a webhook's deliveries, to run at `due` (0 or a past time:
 * now), in jobs of at most `perJob`. `attempts` is the most made so far by any
 * of them, or a tag for a turn that is not an attempt's (a step aside, a paced turn).
 * Deliveries holding paced turns (`pace`) are each due at their first turn instead.
 */
export function queueAttempt(
  queue: JobQueue,
  scope: TenantScope,
  a: { deliveryIds: number[]; webhookId: number; attempts: number | string; due: Date | number; pace?: Turns },
  perJob = MAX_DELIVERIES_PER_JOB,
): Promise<unknown> {
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < a.deliveryIds.length; i += perJob) {
    const deliveryIds = a.deliveryIds.slice(i, i + perJob);
    const pace = a.pace && { at: turnAt(a.pace, i), every: a.pace.every };
    const due = Math.ceil(pace ? pace.at : typeof a.due === 'number' ? a.due : a.due.getTime());
    const more = deliveryIds.length > 1 ? `+${deliveryIds.length - 1}` : '';
    jobs.push(
      queue.enqueue(
        deliverWebhookJob,
        { orgId: scope.orgId, projectId: scope.projectId, webhookId: a.webhookId, deliveryIds, ...(pace && { pace }) },
        { jobId: `dlv:${deliveryIds[0]}${more}:${a.attempts}:${due}`, delay: Math.max(0, due - Date.now()) },
      ),
    );
  }
  return Promise.all(jobs);
}

/** A delivery row as the queries that hand deliveries back for another turn return it. */
export interface DueRow {
  id: number | string;
  attempts: number;
  next_attempt_at: Date | string;
}

/**
 * The next attempt of some deliveries of one webhook, for `queueAttempt`: the most attempts any
 * of them made, due when the last of them is (a delivery is only claimed once its time came).
 */
export function attemptOf(rows: DueRow[]): { deliveryIds: number[]; attempts: number; due: number } {
  return {
    deliveryIds: rows.map((r) => Number(r.id)),
    attempts: Math.max(...rows.map((r) => r.attempts)),
    due: Math.max(...rows.map((r) => new Date(r.next_attempt_at).getTime())),
  };
}

/** Groups rows by webhook, the unit of a delivery job. */
export function byWebhook<D extends { webhook_id: number | string }>(rows: D[]): Map<number, D[]> {
  const groups = new Map<number, D[]>();
  for (const d of rows) {
    const webhookId = Number(d.webhook_id);
    const group = groups.get(webhookId);
    if (group) group.push(d);
    else groups.set(webhookId, [d]);
  }
  return groups;
}
