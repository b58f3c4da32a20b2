import { Module } from '@nestjs/common';
import { IngestBulkReadingsProcessor, IngestReadingsProcessor } from './jobs/ingest-readings.processor';
import { MaintainPartitionsProcessor } from './jobs/maintain-partitions.processor';
import { TelemetryModule } from './telemetry.module';

/** The telemetry processors, loaded by the worker role only. */
@Module({
  imports: [TelemetryModule],
  providers: [IngestReadingsProcessor, IngestBulkReadingsProcessor, MaintainPartitionsProcessor],
})
export class TelemetryJobsModule {}

/** The worker's lane (docs/lanes.md): a low-priority process that takes only the bulk ingest queue. */
@Module({
  imports: [TelemetryModule],
  providers: [IngestBulkReadingsProcessor],
})
export class TelemetryBulkLaneModule {}
