import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { attemptOf, byWebhook, queueAttempt } from '../jobs/deliver-webhook.job';
import { WebhookDeliveriesRepository } from '../webhook-deliveries.repository';
import { WebhooksRepository } from '../webhooks.repository';

const BATCH = 500;

/**
 * The outbox's second half: every WEBHOOK_SWEEP_INTERVAL_MS, deliveries that were committed
 * but whose job never made it to Redis (a crash between commit and enqueue, Redis down or
 * flushed), or whose sender died holding them, are queued again. Several workers may sweep at
 * once: job ids collide on purpose, and a job acts only on a delivery it can claim. The same
 * round deletes the secrets whose rotation grace ended (deliveries stopped signing with them
 * at once; this removes them from the database too).
 */
@Injectable()
export class DeliverySweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookSweeper');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly webhooks: WebhooksRepository,
    private readonly queue: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.webhooks.sweepIntervalMs;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then((n) => void (n && this.logger.log(`re-queued ${n} stranded deliveries`)))
        .catch((err) => this.logger.warn(`sweep failed: ${err.message}`))
        .finally(() => (this.running = null));
    }, every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Returns how many deliveries were queued again. */
  async sweep(): Promise<number> {
    await this.webhooks.deleteExpiredSecrets();
    const stranded = await this.deliveries.findStranded(this.config.webhooks.sweepIntervalMs, BATCH);
    // Each one was due a while ago: one job per webhook sends them all now.
    await Promise.all(
      [...byWebhook(stranded)].map(([webhookId, ds]) =>
        queueAttempt(this.queue, { orgId: Number(ds[0].org_id), projectId: Number(ds[0].project_id) }, { webhookId, ...attemptOf(ds) }),
      ),
    );
    return stranded.length;
  }
}
