import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { withJobContext } from '../../../core/logging/log-context';
import { QUEUES } from '../../../core/queue/queues';
import { RuleEvaluationService } from '../evaluation/rule-evaluation.service';
import { EvaluationScheduler } from '../scheduling/evaluation-scheduler.service';
import { EvaluateDevicePayload, evaluateDeviceJob, evaluateHeavyDeviceJob } from '../scheduling/evaluate-device.job';

/** Devices evaluate in parallel; the advisory lock keeps each device's evaluations in series. */
const CONCURRENCY = 8;
/** Heavy evaluations are also held back by their cost (fair-queueing.ts): two slots are plenty. */
const HEAVY_CONCURRENCY = 2;

/** One evaluation of a device, from either queue; `heavy` is the queue it came from. */
function evaluate(evaluation: RuleEvaluationService, scheduler: EvaluationScheduler, job: Job<EvaluateDevicePayload>, heavy: boolean): Promise<{ changes: number }> {
  return withJobContext(job, async () => {
    const { orgId, projectId, deviceId } = job.data;
    // Once this resolves, readings that land get an evaluation of their own (see
    // EvaluationScheduler), so the device's window is read only after it; the evaluation's lock
    // and first reads go to Postgres meanwhile (one Redis round trip off the path to an alert).
    const begun = scheduler.beginEvaluation(deviceId);
    begun.catch(() => undefined); // the evaluation awaits it, and fails with it
    const started = performance.now();
    const { changes, work } = await evaluation.evaluateDevice({ orgId, projectId }, deviceId, begun);
    // Only informs how the device's next evaluation queues: never worth failing the job for.
    await scheduler.finishEvaluation({ orgId, projectId }, deviceId, { work, costMs: performance.now() - started, ranAsHeavy: heavy }).catch(() => undefined);
    return { changes: changes.length };
  });
}

@Processor(QUEUES.ruleEvaluation)
export class EvaluateDeviceProcessor {
  constructor(
    private readonly evaluation: RuleEvaluationService,
    private readonly scheduler: EvaluationScheduler,
  ) {}

  @Process({ name: evaluateDeviceJob.name, concurrency: CONCURRENCY })
  handle(job: Job<EvaluateDevicePayload>): Promise<{ changes: number }> {
    return evaluate(this.evaluation, this.scheduler, job, false);
  }
}

/** Heavy devices' evaluations (`rule-evaluation-heavy`, see fair-queueing.ts). */
@Processor(QUEUES.ruleEvaluationHeavy)
export class EvaluateHeavyDeviceProcessor {
  constructor(
    private readonly evaluation: RuleEvaluationService,
    private readonly scheduler: EvaluationScheduler,
  ) {}

  @Process({ name: evaluateHeavyDeviceJob.name, concurrency: HEAVY_CONCURRENCY })
  handle(job: Job<EvaluateDevicePayload>): Promise<{ changes: number }> {
    return evaluate(this.evaluation, this.scheduler, job, true);
  }
}
