import { defineJob, QUEUES } from '../../../core/queue/queues';
import { retryForever } from '../../../core/queue/retry-policy';

export interface CatchUpRollupsPayload {
  projectId: number;
}

/**
 * Catch up the project's marked hours in the worker, so the first query after a backfill
 * finds them current (docs/analytics.md, "Keeping rollups exact"). Job ids come from
 * `catchUpRollupsTiming`.
 */
export const catchUpRollupsJob = defineJob<CatchUpRollupsPayload>({
  queue: QUEUES.rollupCatchUp,
  name: 'catch-up-rollups',
  // Retried without limit like every job (docs/durability.md); queries never depend on it,
  // they catch up whatever it has not.
  options: { ...retryForever(1_000), removeOnComplete: true },
});

/** Flushes of one project within one window this long share one catch-up job. */
export const GATHER_MS = 1_000;
/**
 * How long after its window ends the job is due: more than the clocks of the processes that
 * write and the worker that runs it may disagree by.
 */
export const CLOCK_MARGIN_MS = 250;

/**
 * The job id and delay for a flush that wrote marks at `now` (epoch ms). Every flush in one
 * window of GATHER_MS gets the same id, so Bull keeps one job for them all, due after the
 * window has ended: a flush is always older than the start of the job it joined, so that
 * job's snapshot holds its marks, and a flush while a job runs (its window is over) gets a
 * job of its own. At most one Redis round trip per flush, and no counter to read first.
 */
export function catchUpRollupsTiming(projectId: number, now: number): { jobId: string; delay: number } {
  const window = Math.floor(now / GATHER_MS);
  return { jobId: `rollups:${projectId}:${window}`, delay: (window + 1) * GATHER_MS + CLOCK_MARGIN_MS - now };
}

/**
 * The id of the job of the window after `jobId`'s, for the same project. When that job exists
 * as `jobId`'s starts, the backfill was still arriving: the later job will catch up all the
 * marks, so this one yields instead of rebuilding the same hours once per window.
 */
export function nextWindowJobId(jobId: string): string | null {
  const m = /^rollups:(\d+):(\d+)$/.exec(jobId);
  return m ? `rollups:${m[1]}:${Number(m[2]) + 1}` : null;
}
