import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { Coalescer } from '../../../core/database/coalescer';
import { withJobContext } from '../../../core/logging/log-context';
import { QUEUES } from '../../../core/queue/queues';
import { DeviceEvaluation, EvaluationTarget, RuleEvaluationService } from '../evaluation/rule-evaluation.service';
import { EvaluationScheduler } from '../scheduling/evaluation-scheduler.service';
import { EvaluateDevicePayload, evaluateDeviceJob, evaluateHeavyDeviceJob } from '../scheduling/evaluate-device.job';

/** Evaluation transactions at once: as many as the evaluations a worker ran in parallel before batching. */
const MAX_RUNNING = 8;
/** Devices per transaction (one commit, one read of rules, timer rows and alert states). */
const MAX_BATCH = 10;
/**
 * Jobs a worker holds at once: MAX_RUNNING transactions' worth running, and enough waiting to
 * fill the next batches. The advisory lock keeps each device's evaluations in series.
 */
const CONCURRENCY = MAX_RUNNING + 2 * MAX_BATCH;
/** Heavy evaluations are also held back by their cost (fair-queueing.ts): two slots are plenty. */
const HEAVY_CONCURRENCY = 2;

/** One evaluation of a device, from either queue, by `run`; `heavy` is the queue it came from. */
function evaluate(scheduler: EvaluationScheduler, job: Job<EvaluateDevicePayload>, heavy: boolean, run: (target: EvaluationTarget) => Promise<DeviceEvaluation>): Promise<{ changes: number }> {
  return withJobContext(job, async () => {
    const { orgId, projectId, deviceId } = job.data;
    // From here on, readings that land get an evaluation of their own (see EvaluationScheduler).
    await scheduler.beginEvaluation(deviceId);
    const { changes, work, costMs } = await run({ scope: { orgId, projectId }, deviceId });
    // Only informs how the device's next evaluation queues: never worth failing the job for.
    await scheduler.finishEvaluation({ orgId, projectId }, deviceId, { work, costMs, ranAsHeavy: heavy }).catch(() => undefined);
    return { changes };
  });
}

@Processor(QUEUES.ruleEvaluation)
export class EvaluateDeviceProcessor {
  /**
   * The jobs held at once, evaluated together (docs/rules.md, "Evaluations in batches"): while
   * fewer than MAX_RUNNING transactions run, a job starts one of its own at once; once they
   * all run, jobs wait and the next transaction takes up to MAX_BATCH of them, the projects'
   * in turn (a project's backlog does not keep another's job out of the next one).
   */
  private readonly batches: Coalescer<EvaluationTarget, DeviceEvaluation | undefined>;

  constructor(
    private readonly evaluation: RuleEvaluationService,
    private readonly scheduler: EvaluationScheduler,
  ) {
    this.batches = new Coalescer({
      flush: async (targets) => {
        const done = await evaluation.evaluateArrivals(targets);
        return targets.map((t) => done.get(t.deviceId));
      },
      maxWeight: MAX_BATCH,
      maxParallel: MAX_RUNNING,
      lane: (t) => t.scope.projectId,
    });
  }

  @Process({ name: evaluateDeviceJob.name, concurrency: CONCURRENCY })
  handle(job: Job<EvaluateDevicePayload>): Promise<{ changes: number }> {
    // A device its batch left out (its lock held elsewhere, or the batch failed) is evaluated
    // on its own, waiting for the lock, without holding up the batch's other jobs.
    return evaluate(this.scheduler, job, false, async (t) => (await this.batches.submit(t)) ?? this.evaluation.evaluateDevice(t.scope, t.deviceId));
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
    return evaluate(this.scheduler, job, true, (t) => this.evaluation.evaluateDevice(t.scope, t.deviceId));
  }
}
