import { defineJob } from '../../../core/queue/queues';
import { QUEUES } from '../../../core/queue/queues';

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
  options: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: true,
    removeOnFail: true,
  },
});
