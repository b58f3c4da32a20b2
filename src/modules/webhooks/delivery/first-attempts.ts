import { Injectable } from '@nestjs/common';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';

/** Starts the first attempt of a webhook's fresh deliveries in this process; false when it will not (the caller queues them). */
export type FirstAttemptRunner = (scope: TenantScope, webhookId: number, deliveryIds: number[]) => boolean;

/**
 * Where fresh deliveries make their first attempt. The outbox (WebhookDeliveriesService)
 * asks here first; a process that sends webhooks (the worker role) serves it with its
 * delivery runner, so the alert change's own process sends at once instead of through a
 * queued job (docs/webhooks.md, "The first attempt"). Elsewhere (the api role), or when that
 * process declines, the deliveries are queued as before.
 */
@Injectable()
export class FirstAttempts {
  private runner: FirstAttemptRunner | null = null;

  serveWith(runner: FirstAttemptRunner): void {
    this.runner = runner;
  }

  tryRun(scope: TenantScope, webhookId: number, deliveryIds: number[]): boolean {
    return this.runner?.(scope, webhookId, deliveryIds) ?? false;
  }
}
