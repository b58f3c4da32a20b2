import { Injectable, Logger } from '@nestjs/common';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { catchUpRollupsJob, catchUpRollupsTiming } from '../jobs/catch-up-rollups.job';
import type { HasRollups, RollupSourceRow } from './rollup-changes';
import { RollupFreshnessRepository } from './rollup-freshness.repository';
import { RollupMetrics } from './rollup-metrics.service';

/** How long a flush waits for Redis to take its catch-up jobs before going on without them. */
const ENQUEUE_TIMEOUT_MS = 1_000;

/** What other modules ask of the freshness half (docs/analytics.md). */
@Injectable()
export class RollupFreshnessService {
  private readonly logger = new Logger('Rollups');
  /**
   * Per project, the catch-up job this process last queued. While its window lasts, that job
   * has not started, so queuing it again would change nothing: later flushes skip Redis.
   */
  private readonly queued = new Map<number, string>();

  constructor(
    private readonly repo: RollupFreshnessRepository,
    private readonly queue: JobQueue,
    private readonly metrics: RollupMetrics,
  ) {}

  /**
   * Called by the reading writer before a flush: admits its new metrics to rollups where their
   * project has room, and tells which of its metrics have rollups (RollupMetrics).
   */
  admit(rows: readonly RollupSourceRow[]): Promise<HasRollups> {
    return this.metrics.admit(rows);
  }

  /** After retention dropped the readings before `cutoff` (null: none dropped, only tidy up). */
  forgetBefore(cutoff: Date | null): Promise<void> {
    return this.repo.forgetBefore(cutoff);
  }

  /**
   * Called by the reading writer after a flush that marked hours of these projects committed:
   * queues their catch-up jobs (at most one round trip). Never fails the flush: a query
   * catches up whatever a job did not.
   */
  async catchUpSoon(projectIds: readonly number[]): Promise<void> {
    const now = Date.now();
    const jobs = projectIds.map((projectId) => ({ projectId, ...catchUpRollupsTiming(projectId, now) })).filter((j) => this.queued.get(j.projectId) !== j.jobId);
    if (!jobs.length) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(
          jobs.map(async ({ projectId, jobId, delay }) => {
            await this.queue.enqueue(catchUpRollupsJob, { projectId }, { jobId, delay });
            this.queued.set(projectId, jobId);
          }),
        ),
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
