import { Module } from '@nestjs/common';
import { AnalyticsJobsModule } from './modules/analytics/analytics-jobs.module';
import { RulesJobsModule } from './modules/rules/rules-jobs.module';
import { SilencesJobsModule } from './modules/silences/silences-jobs.module';
import { TelemetryJobsModule } from './modules/telemetry/telemetry-jobs.module';
import { WebhooksJobsModule } from './modules/webhooks/webhooks-jobs.module';

/** The queue side: every processor. Feature modules add their processor modules here. */
@Module({ imports: [TelemetryJobsModule, RulesJobsModule, WebhooksJobsModule, SilencesJobsModule, AnalyticsJobsModule] })
export class WorkerModule {}
