import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { withJobContext } from '../../../core/logging/log-context';
import { QUEUES } from '../../../core/queue/queues';
import { RollupFreshnessService } from '../freshness/rollup-freshness.service';
import { CatchUpRollupsPayload, catchUpRollupsJob } from './catch-up-rollups.job';

/**
 * Projects catch up in parallel, this many at once: each rebuild is a heavy statement, and
 * queries and ingestion share the database with it. One project's jobs queue on its lock.
 */
const CONCURRENCY = 2;

@Processor(QUEUES.rollupCatchUp)
export class CatchUpRollupsProcessor {
  constructor(private readonly freshness: RollupFreshnessService) {}

  @Process({ name: catchUpRollupsJob.name, concurrency: CONCURRENCY })
  handle(job: Job<CatchUpRollupsPayload>): Promise<{ hours: number }> {
    return withJobContext(job, async () => ({ hours: await this.freshness.catchUpMarked(job.data.projectId) }));
  }
}
