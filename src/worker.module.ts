import { Module } from '@nestjs/common';
import { AnalyticsJobsModule } from './modules/analytics/analytics-jobs.module';
import { RulesHeavyJobsModule, RulesJobsModule } from './modules/rules/rules-jobs.module';
import { SilencesJobsModule } from './modules/silences/silences-jobs.module';
import { TelemetryBulkJobsModule, TelemetryJobsModule } from './modules/telemetry/telemetry-jobs.module';
import { WebhooksJobsModule } from './modules/webhooks/webhooks-jobs.module';

/** The queue side: every processor. Feature modules add their processor modules here. */
@Module({ imports: [TelemetryJobsModule, RulesJobsModule, WebhooksJobsModule, SilencesJobsModule, AnalyticsJobsModule] })
export class WorkerModule {}

/**
 * A worker's low-priority lane (docs/lanes.md): the processors of one project's heavy work,
 * large batches and heavy evaluations, which its parent leaves to it while it runs.
 */
@Module({ imports: [TelemetryBulkJobsModule, RulesHeavyJobsModule] })
export class WorkerLaneModule {}
