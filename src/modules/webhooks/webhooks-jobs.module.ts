import { Module } from '@nestjs/common';
import { DeliveryStates } from './delivery/delivery-states.service';
import { DeliverySweeper } from './delivery/delivery-sweeper.service';
import { InlineFirstAttempts } from './delivery/inline-first-attempts.service';
import { WebhookDeliveryRunner } from './delivery/webhook-delivery-runner.service';
import { WebhookSender } from './delivery/webhook-sender';
import { DeliverWebhookProcessor } from './jobs/deliver-webhook.processor';
import { WebhooksSharedModule } from './webhooks-shared.module';

/** The sending side, loaded by the worker role only (docs/webhooks.md, "The delivery path"). */
@Module({
  imports: [WebhooksSharedModule],
  providers: [WebhookSender, DeliveryStates, WebhookDeliveryRunner, InlineFirstAttempts, DeliverySweeper, DeliverWebhookProcessor],
})
export class WebhooksJobsModule {}
