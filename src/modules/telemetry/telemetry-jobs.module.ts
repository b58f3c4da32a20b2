import { Module } from '@nestjs/common';
import { IngestBulkReadingsProcessor, IngestReadingsProcessor } from './jobs/ingest-readings.processor';
import { MaintainPartitionsProcessor } from './jobs/maintain-partitions.processor';
import { TelemetryModule } from './telemetry.module';

/** The bulk ingest queue's processor: in the worker, or in its low-priority lane (docs/lanes.md). */
@Module({
  imports: [TelemetryModule],
  providers: [IngestBulkReadingsProcessor],
})
export class TelemetryBulkJobsModule {}

/** The telemetry processors, loaded by the worker role only. */
@Module({
  imports: [TelemetryModule, TelemetryBulkJobsModule],
  providers: [IngestReadingsProcessor, MaintainPartitionsProcessor],
})
export class TelemetryJobsModule {}
