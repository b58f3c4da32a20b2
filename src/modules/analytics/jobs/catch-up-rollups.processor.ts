import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { withJobContext } from '../../../core/logging/log-context';
import { Metrics } from '../../../core/metrics/metrics.service';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { QUEUES } from '../../../core/queue/queues';
import { RollupFreshnessService } from '../freshness/rollup-freshness.service';
import { CatchUpRollupsPayload, catchUpRollupsJob, nextWindowJobId } from './catch-up-rollups.job';

/**
 * Projects catch up in parallel, this many at once: each rebuild is a heavy statement, and
 * queries and ingestion share the database with it. One project's jobs queue on its lock.
 */
const CONCURRENCY = 2;

@Processor(QUEUES.rollupCatchUp)
export class CatchUpRollupsProcessor {
  constructor(
    private readonly freshness: RollupFreshnessService,
    private readonly queue: JobQueue,
    private readonly metrics: Metrics,
  ) {}

  @Process({ name: catchUpRollupsJob.name, concurrency: CONCURRENCY })
  handle(job: Job<CatchUpRollupsPayload>): Promise<{ hours: number; yielded: boolean }> {
    return withJobContext(job, async () => {
      // A backfill still arriving has queued the next window's job: that one catches up, once.
      const next = nextWindowJobId(String(job.id));
      if (next && (await this.queue.queue(QUEUES.rollupCatchUp).getJob(next))) {
        this.metrics.rollupCatchUps.inc({ outcome: 'yielded' });
        return { hours: 0, yielded: true };
      }
      const hours = await this.freshness.catchUpMarked(job.data.projectId);
      this.metrics.rollupCatchUps.inc({ outcome: 'caught_up' });
      return { hours, yielded: false };
    });
  }
}
