import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Job } from 'bull';
import { Metrics } from '../metrics/metrics.service';
import { JobQueue } from './job-queue.service';

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/**
 * Makes failed job attempts visible: every one counts in `watchpost_job_failures_total`, and
 * is logged at warn on its 1st, 2nd, 4th, 8th… attempt (a long outage holds back many jobs
 * that each retry every RETRY_CAP_MS; logging all of them would drown the log). Bull emits
 * these events in the process that ran the job, so a worker reports its own.
 */
@Injectable()
export class JobFailureMonitor implements OnModuleInit {
  private readonly logger = new Logger('Jobs');

  constructor(
    private readonly queues: JobQueue,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    for (const q of this.queues.all()) {
      q.on('failed', (job: Job, err: Error) => this.failed(q.name, job, err));
      q.on('completed', (job: Job) => {
        if (job.attemptsMade > 0) this.logger.log(`${q.name} job ${job.id} succeeded after ${job.attemptsMade} failed attempt(s)`);
      });
    }
  }

  private failed(queue: string, job: Job, err: Error): void {
    this.metrics.jobFailures.inc({ queue, job: job.name });
    const attempts = job.attemptsMade;
    const final = attempts >= (job.opts.attempts ?? 1);
    if (!final && !isPowerOfTwo(attempts)) return;
    const what = final ? 'failed for good; it is kept in the failed list' : `failed (attempt ${attempts}); retrying`;
    this.logger.warn(`${queue} job ${job.id} (${job.name}) ${what}: ${err?.message ?? err}`);
  }
}
