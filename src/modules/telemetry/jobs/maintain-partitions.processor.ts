import { Process, Processor } from '@nestjs/bull';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { QUEUES } from '../../../core/queue/queues';
import { PartitionService } from '../partition.service';
import { maintainPartitionsJob } from './maintain-partitions.job';

@Processor(QUEUES.maintenance)
export class MaintainPartitionsProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger('Partitions');

  constructor(
    private readonly partitions: PartitionService,
    private readonly queue: JobQueue,
  ) {}

  /** Registers the hourly job (idempotent: a repeatable job is keyed by its cron) and runs once now. */
  async onApplicationBootstrap(): Promise<void> {
    await this.queue.enqueue(maintainPartitionsJob, {});
    await this.handle().catch((err) => this.logger.warn(`partition maintenance failed: ${err.message}`));
  }

  @Process(maintainPartitionsJob.name)
  async handle(): Promise<void> {
    const result = await this.partitions.maintain();
    if (result.created.length || result.dropped.length) this.logger.log(result);
  }
}
