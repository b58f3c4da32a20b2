import { defineJob, QUEUES } from '../../../core/queue/queues';

export type MaintainPartitionsPayload = Record<string, never>;

/** Hourly: create the coming days' reading partitions and apply retention. */
export const maintainPartitionsJob = defineJob<MaintainPartitionsPayload>({
  queue: QUEUES.maintenance,
  name: 'maintain-reading-partitions',
  options: {
    repeat: { cron: '7 * * * *' },
    jobId: 'maintain-reading-partitions',
    attempts: 3,
    backoff: { type: 'fixed', delay: 60_000 },
    removeOnComplete: true,
    removeOnFail: 10,
  },
});
