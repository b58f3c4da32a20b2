import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { RulesModule } from '../rules/rules.module';
import { ReadingWriter } from './ingest/reading-writer.service';
import { PartitionRepository } from './partition.repository';
import { PartitionService } from './partition.service';
import { ReadingsRepository } from './readings.repository';
import { TelemetryIngestService } from './telemetry-ingest.service';
import { TelemetryQueryService } from './telemetry-query.service';
import { TelemetryController } from './telemetry.controller';

@Module({
  imports: [DevicesModule, RulesModule],
  controllers: [TelemetryController],
  providers: [ReadingsRepository, ReadingWriter, TelemetryIngestService, TelemetryQueryService, PartitionRepository, PartitionService],
  exports: [TelemetryIngestService, PartitionService],
})
export class TelemetryModule {}
