import { Module } from '@nestjs/common';
import { ReadingsQuota } from '../../core/rate-limit/readings-quota';
import { AnalyticsModule } from '../analytics/analytics.module';
import { DevicesModule } from '../devices/devices.module';
import { RuleSchedulingModule } from '../rules/scheduling/rule-scheduling.module';
import { FailedReadingsRepository } from './failed-readings.repository';
import { ReadingWriter } from './ingest/reading-writer.service';
import { PartitionRepository } from './partition.repository';
import { PartitionService } from './partition.service';
import { ReadingsRepository } from './readings.repository';
import { TelemetryIngestService } from './telemetry-ingest.service';
import { TelemetryQueryService } from './telemetry-query.service';
import { TelemetryController } from './telemetry.controller';

@Module({
  imports: [DevicesModule, RuleSchedulingModule, AnalyticsModule],
  controllers: [TelemetryController],
  providers: [
    ReadingsRepository,
    FailedReadingsRepository,
    ReadingWriter,
    TelemetryIngestService,
    TelemetryQueryService,
    PartitionRepository,
    PartitionService,
    ReadingsQuota,
  ],
  exports: [TelemetryIngestService, TelemetryQueryService, PartitionService],
})
export class TelemetryModule {}
