import type { JobOptions } from 'bull';

/**
 * How every job retries its own failures (Postgres or Redis away, a crash): without an attempt
 * limit, after a backoff that doubles from the job's first delay up to RETRY_CAP_MS. A finite
 * budget would turn a long outage into lost work (a 202's readings, an evaluation, a
 * notification); a capped delay keeps each waiting job retrying every half minute at most, so
 * work resumes within RETRY_CAP_MS of the outage's end however long it lasted. See
 * docs/durability.md.
 */
export const RETRY_CAP_MS = 30_000;
export const CAPPED_BACKOFF = 'capped-exponential';

interface CappedBackoffOptions {
  delay: number;
  max: number;
}

/**
 * Bull backoff strategy (registered on every queue): `delay · 2^(attempt−1)` capped at `max`,
 * less up to a quarter at random, so the jobs an outage held back do not all retry at once.
 */
export function cappedBackoff(attemptsMade: number, _err: Error | undefined, options: CappedBackoffOptions, random = Math.random): number {
  const exp = options.delay * 2 ** Math.min(Math.max(attemptsMade - 1, 0), 30);
  const capped = Math.min(options.max, exp);
  return Math.max(1, Math.round(capped * (1 - 0.25 * random())));
}

/**
 * Job options for work that must never be given up. Failed attempts stay visible (the
 * job waits in `delayed` with its reason and attempt count, in the queue dashboard and in
 * `watchpost_job_failures_total`), and a job that does end failed is kept, never removed.
 */
export function retryForever(firstDelayMs: number): JobOptions {
  return {
    attempts: Number.MAX_SAFE_INTEGER,
    backoff: { type: CAPPED_BACKOFF, options: { delay: firstDelayMs, max: RETRY_CAP_MS } satisfies CappedBackoffOptions },
    removeOnFail: false,
    // Bull keeps one stack per failed attempt in the job; without a limit a job retrying for
    // days would grow without end.
    stackTraceLimit: 5,
  };
}
