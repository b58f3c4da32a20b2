import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { SilencesModule } from '../silences/silences.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AlertEventsService } from './alert-events.service';
import { AlertsController } from './alerts.controller';
import { AlertsRepository } from './alerts.repository';
import { AlertsService } from './alerts.service';
import { StreamSlots } from './stream-slots';

@Module({
  imports: [DevicesModule, WebhooksModule, SilencesModule],
  controllers: [AlertsController],
  providers: [AlertsRepository, AlertsService, AlertEventsService, StreamSlots],
  exports: [AlertsService],
})
export class AlertsModule {}
