import { defineJob, QUEUES } from '../../../core/queue/queues';
import { retryForever } from '../../../core/queue/retry-policy';

export type MaintainPartitionsPayload = Record<string, never>;

/** Hourly: create the coming days' reading partitions and apply retention. */
export const maintainPartitionsJob = defineJob<MaintainPartitionsPayload>({
  queue: QUEUES.maintenance,
  name: 'maintain-reading-partitions',
  options: {
    repeat: { cron: '7 * * * *' },
    jobId: 'maintain-reading-partitions',
    // Until it succeeds, however long Postgres is away (the partitions ahead must exist).
    ...retryForever(5_000),
    removeOnComplete: true,
  },
});
