import { defineJob } from '../../../core/queue/queues';
import { QUEUES } from '../../../core/queue/queues';
import { retryForever } from '../../../core/queue/retry-policy';

export interface EvaluateDevicePayload {
  projectId: number;
  orgId: number;
  deviceId: number;
}

/**
 * Evaluate every applicable rule of one device after readings land. The job id comes from
 * EvaluationScheduler (one per device and evaluation generation), so a burst of batches
 * coalesces into one evaluation without ever missing readings that land during one.
 */
export const evaluateDeviceJob = defineJob<EvaluateDevicePayload>({
  queue: QUEUES.ruleEvaluation,
  name: 'evaluate-device',
  // Retried without limit: readings that landed must be evaluated however long Postgres is
  // away (docs/durability.md).
  options: { ...retryForever(500), removeOnComplete: true },
});

/**
 * The same evaluation for a device whose evaluations are heavy (fair-queueing.ts): a queue of
 * its own, which a worker with lanes leaves to its low-priority lane (docs/lanes.md).
 */
export const evaluateHeavyDeviceJob = defineJob<EvaluateDevicePayload>({ ...evaluateDeviceJob, queue: QUEUES.ruleEvaluationHeavy });
