import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import { withinGrace } from '../../../core/lifecycle/grace';
import { ShutdownSignal } from '../../../core/lifecycle/shutdown-signal';
import { runWithLogContext } from '../../../core/logging/log-context';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { queueAttempt } from '../jobs/deliver-webhook.job';
import { FirstAttemptPool } from './first-attempt-pool';
import { FirstAttempts } from './first-attempts';
import { WebhookDeliveryRunner } from './webhook-delivery-runner.service';

/**
 * Serves FirstAttempts in a worker: the first attempt of the deliveries an alert change
 * committed here runs here, right after the commit, through the same runner as a queued job
 * (circuit admission, pace, slots, claim, send, record, retries queued). It saves the delivery
 * job's trip through Redis on the way from a breach to its webhook (docs/webhooks.md, "The
 * first attempt"). Not awaited by the alert change, so an evaluation never waits for a
 * subscriber. A process that dies meanwhile loses nothing: the deliveries are committed, and
 * the sweeper queues those left unclaimed or whose claim lapsed. Not in a lane (its work is
 * the heavy kind, at low priority), nor with WEBHOOK_INLINE_FIRST_ATTEMPTS=0; the limits
 * while running are FirstAttemptPool's.
 */
@Injectable()
export class InlineFirstAttempts implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookDelivery');
  private readonly pool: FirstAttemptPool;

  constructor(
    private readonly firstAttempts: FirstAttempts,
    runner: WebhookDeliveryRunner,
    queue: JobQueue,
    shutdown: ShutdownSignal,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.pool = new FirstAttemptPool(
      {
        // Logged as its own work, not as the evaluation job's that committed the deliveries.
        attempt: (scope, webhookId, ids) => runWithLogContext({ project_id: scope.projectId, job_id: `first-attempt:${ids[0]}` }, () => runner.attempt(scope, webhookId, ids)),
        queue: (scope, webhookId, ids, delayMs) => queueAttempt(queue, scope, { deliveryIds: ids, webhookId, attempts: 0, due: Date.now() + delayMs }),
        draining: () => shutdown.draining,
        warn: (message) => this.logger.warn(message),
      },
      config.webhooks.inlineFirstAttempts,
    );
  }

  onApplicationBootstrap(): void {
    if (this.config.lanes.self === 'none' && this.config.webhooks.inlineFirstAttempts > 0) {
      this.firstAttempts.serveWith((scope, webhookId, ids) => this.pool.start(scope, webhookId, ids));
    }
  }

  /**
   * The pool takes no more (the outbox queues instead), and the attempts in flight finish
   * before the connection pools close, within the shutdown's grace; one cut off is sent again
   * by another worker once its claim lapses (the sweeper).
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!(await withinGrace(this.pool.close(), this.config.shutdownGraceMs))) this.logger.warn('first attempts still running after the grace; their claims lapse and the sweeper queues them');
  }
}
