import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { DELIVERY_RETRY_MS, MAX_DELIVERIES_PER_JOB } from '../jobs/deliver-webhook.job';

/** What the pool needs of its process: the runner's attempt, the queue's, and whether the process drains. */
export interface FirstAttemptWork {
  attempt(scope: TenantScope, webhookId: number, ids: number[]): Promise<void>;
  /** Queues the deliveries as a job, due in `delayMs`. */
  queue(scope: TenantScope, webhookId: number, ids: number[], delayMs: number): Promise<unknown>;
  draining(): boolean;
  warn(message: string): void;
}

/**
 * The first attempts a worker makes itself (docs/webhooks.md, "The first attempt"): started at
 * once and not awaited, at most `limit` at a time; past it, while the process drains, or for
 * more deliveries than a job holds, `start` declines and the caller queues them. An attempt
 * that fails on our side goes to the queue as a job; if even that fails, the sweeper queues
 * the deliveries later (they are committed).
 */
export class FirstAttemptPool {
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly work: FirstAttemptWork,
    private readonly limit: number,
  ) {}

  start(scope: TenantScope, webhookId: number, ids: number[]): boolean {
    if (this.closed || this.work.draining() || this.running.size >= this.limit || ids.length > MAX_DELIVERIES_PER_JOB) return false;
    const run: Promise<void> = this.work
      .attempt(scope, webhookId, ids)
      .catch((err: Error) => {
        this.work.warn(`first attempt of deliveries ${ids.join(', ')} failed on our side (${err.message}); queued again`);
        // As a job that failed on our side would run again.
        return this.work.queue(scope, webhookId, ids, DELIVERY_RETRY_MS);
      })
      .then(
        () => undefined,
        (err: Error) => this.work.warn(`deliveries ${ids.join(', ')} not queued again (${err.message}); the sweeper will queue them`),
      )
      .finally(() => this.running.delete(run));
    this.running.add(run);
    return true;
  }

  /** Takes no more, and resolves once those in flight are done (each bounded by the webhook timeouts). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.running]);
  }
}
