import { Module } from '@nestjs/common';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';
import { WebhooksSharedModule } from './webhooks-shared.module';

/** Subscriptions, their circuits and deliveries; exports the outbox that alert changes write to. */
@Module({
  imports: [WebhooksSharedModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookDeliveriesService],
  exports: [WebhookDeliveriesService],
})
export class WebhooksModule {}
