import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { withJobContext } from '../../../core/logging/log-context';
import { QUEUES } from '../../../core/queue/queues';
import { RuleEvaluationService } from '../evaluation/rule-evaluation.service';
import { EvaluationScheduler } from '../scheduling/evaluation-scheduler.service';
import { EvaluateDevicePayload, evaluateDeviceJob } from '../scheduling/evaluate-device.job';

/** Devices evaluate in parallel; the advisory lock keeps each device's evaluations in series. */
const CONCURRENCY = 8;

@Processor(QUEUES.ruleEvaluation)
export class EvaluateDeviceProcessor {
  constructor(
    private readonly evaluation: RuleEvaluationService,
    private readonly scheduler: EvaluationScheduler,
  ) {}

  @Process({ name: evaluateDeviceJob.name, concurrency: CONCURRENCY })
  handle(job: Job<EvaluateDevicePayload>): Promise<{ changes: number }> {
    return withJobContext(job, async () => {
      const { orgId, projectId, deviceId } = job.data;
      // From here on, readings that land get an evaluation of their own (see EvaluationScheduler).
      await this.scheduler.beginEvaluation(deviceId);
      const started = performance.now();
      const { changes, work } = await this.evaluation.evaluateDevice({ orgId, projectId }, deviceId);
      // Only informs how the device's next evaluation queues: never worth failing the job for.
      await this.scheduler.finishEvaluation({ orgId, projectId }, deviceId, { work, costMs: performance.now() - started }).catch(() => undefined);
      return { changes: changes.length };
    });
  }
}
