import { Module } from '@nestjs/common';
import { AnalyticsModule } from './analytics.module';
import { CatchUpRollupsProcessor } from './jobs/catch-up-rollups.processor';

/** The rollup catch-up processor, loaded by the worker role only. */
@Module({
  imports: [AnalyticsModule],
  providers: [CatchUpRollupsProcessor],
})
export class AnalyticsJobsModule {}
