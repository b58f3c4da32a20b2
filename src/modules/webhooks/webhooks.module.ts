import { Module } from '@nestjs/common';
import { CircuitStore } from './circuit/circuit-store';
import { Pacer } from './pacing/pacer';
import { WebhookCircuits } from './circuit/webhook-circuits.service';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Subscriptions, their circuits and deliveries; exports the outbox that alert changes write to. */
@Module({
  controllers: [WebhooksController],
  providers: [WebhooksRepository, WebhookDeliveriesRepository, WebhooksService, WebhookDeliveriesService, CircuitStore, WebhookCircuits, Pacer],
  exports: [WebhookDeliveriesService],
})
export class WebhooksModule {}
