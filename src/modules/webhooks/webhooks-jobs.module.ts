import { Module } from '@nestjs/common';
import { CircuitStore } from './circuit/circuit-store';
import { Pacer } from './pacing/pacer';
import { WebhookCircuits } from './circuit/webhook-circuits.service';
import { DeliveryStates } from './delivery/delivery-states.service';
import { DeliverySweeper } from './delivery/delivery-sweeper.service';
import { WebhookDeliveryRunner } from './delivery/webhook-delivery-runner.service';
import { WebhookSender } from './delivery/webhook-sender';
import { DeliverWebhookProcessor } from './jobs/deliver-webhook.processor';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhooksRepository } from './webhooks.repository';

/** The sending side, loaded by the worker role only. */
@Module({
  providers: [
    WebhooksRepository,
    WebhookDeliveriesRepository,
    CircuitStore,
    WebhookCircuits,
    Pacer,
    WebhookSender,
    DeliveryStates,
    WebhookDeliveryRunner,
    DeliverySweeper,
    DeliverWebhookProcessor,
  ],
})
export class WebhooksJobsModule {}
