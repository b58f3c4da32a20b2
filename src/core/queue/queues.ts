import type { JobOptions } from 'bull';

/** Every queue of the platform; each is declared once, here. */
export const QUEUES = {
  telemetryIngest: 'telemetry-ingest',
  telemetryIngestBulk: 'telemetry-ingest-bulk',
  ruleEvaluation: 'rule-evaluation',
  ruleEvaluationHeavy: 'rule-evaluation-heavy',
  webhookDelivery: 'webhook-delivery',
  maintenance: 'maintenance',
  rollupCatchUp: 'rollup-catch-up',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * A job type: its queue, name, payload and retry policy, declared together in the feature's
 * `jobs/<job>.job.ts`. `P` only exists for the type checker, tying enqueue to the payload.
 */
export interface JobDefinition<P> {
  readonly queue: QueueName;
  readonly name: string;
  readonly options: JobOptions;
  readonly __payload?: P;
}

export function defineJob<P>(def: Omit<JobDefinition<P>, '__payload'>): JobDefinition<P> {
  return def;
}
