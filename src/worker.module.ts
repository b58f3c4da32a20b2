import { Module } from '@nestjs/common';
import { TelemetryJobsModule } from './modules/telemetry/telemetry-jobs.module';

/** The queue side: every processor. Feature modules add their processor modules here. */
@Module({ imports: [TelemetryJobsModule] })
export class WorkerModule {}
