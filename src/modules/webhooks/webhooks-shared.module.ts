import { Module } from '@nestjs/common';
import { CircuitStore } from './circuit/circuit-store';
import { WebhookCircuits } from './circuit/webhook-circuits.service';
import { FirstAttempts } from './delivery/first-attempts';
import { Pacer } from './pacing/pacer';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhooksRepository } from './webhooks.repository';

/**
 * What the API half (WebhooksModule) and the sending half (WebhooksJobsModule) share, declared
 * once so that a ROLE=all process holds one of each: one WebhookCircuits means one local
 * breaker per webhook, which a circuit reset through the API closes for the sender too, and one FirstAttempts, which the sender serves for the outbox. Imported by those two modules only; other modules use WebhooksModule.
 */
@Module({
  providers: [WebhooksRepository, WebhookDeliveriesRepository, CircuitStore, WebhookCircuits, Pacer, FirstAttempts],
  exports: [WebhooksRepository, WebhookDeliveriesRepository, WebhookCircuits, Pacer, FirstAttempts],
})
export class WebhooksSharedModule {}
