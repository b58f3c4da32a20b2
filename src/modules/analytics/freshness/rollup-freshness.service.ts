import { Injectable, Logger } from '@nestjs/common';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { catchUpRollupsJob, catchUpRollupsTiming } from '../jobs/catch-up-rollups.job';
import { RollupFreshnessRepository } from './rollup-freshness.repository';

/** How long a flush waits for Redis to take its catch-up jobs before going on without them. */
const ENQUEUE_TIMEOUT_MS = 1_000;

/** What other modules ask of the freshness half (docs/analytics.md). */
@Injectable()
export class RollupFreshnessService {
  private readonly logger = new Logger('Rollups');

  constructor(
    private readonly repo: RollupFreshnessRepository,
    private readonly queue: JobQueue,
  ) {}

  /** After retention dropped the readings before `cutoff` (null: none dropped, only tidy up). */
  forgetBefore(cutoff: Date | null): Promise<void> {
    return this.repo.forgetBefore(cutoff);
  }

  /**
   * Called by the reading writer after a flush that marked hours of these projects committed:
   * queues their catch-up jobs (one round trip). Never fails the flush: a query catches up
   * whatever a job did not.
   */
  async catchUpSoon(projectIds: readonly number[]): Promise<void> {
    const now = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(projectIds.map((projectId) => this.queue.enqueue(catchUpRollupsJob, { projectId }, catchUpRollupsTiming(projectId, now)))),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS))),
      ]);
    } catch (err) {
      this.logger.warn(`rollup catch-up of project(s) ${projectIds.join(', ')} not queued (${(err as Error).message}); queries will catch up`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The catch-up job: every marked hour of the project that has rollups. Returns how many hours. */
  catchUpMarked(projectId: number): Promise<number> {
    return this.repo.catchUpMarked(projectId);
  }
}
