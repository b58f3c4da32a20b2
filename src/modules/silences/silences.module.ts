import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { SilenceMetrics } from './silence-metrics';
import { SilencesController } from './silences.controller';
import { SilencesRepository } from './silences.repository';
import { SilencesService } from './silences.service';

/**
 * Silences and the mute decision. The alerts module imports this one (alert changes ask it
 * whether to deliver), so it must never import alerts: what it needs of alert rows it reads
 * in its own repository.
 */
@Module({
  imports: [DevicesModule, WebhooksModule],
  controllers: [SilencesController],
  providers: [SilencesRepository, SilencesService, SilenceMetrics],
  exports: [SilencesService],
})
export class SilencesModule {}
