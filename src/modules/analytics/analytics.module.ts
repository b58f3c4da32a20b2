import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { AnalyticsController } from './analytics.controller';
import { AnalyticsService } from './analytics.service';
import { RollupFreshnessRepository } from './freshness/rollup-freshness.repository';
import { RollupFreshnessService } from './freshness/rollup-freshness.service';
import { RollupMetricsRepository } from './freshness/rollup-metrics.repository';
import { RollupMetrics } from './freshness/rollup-metrics.service';
import { ReadingQueriesRepository } from './query/reading-queries.repository';
import { RollupQueriesRepository } from './query/rollup-queries.repository';

/**
 * Aggregate and stats, and the rollups that answer them, end to end (docs/analytics.md). The
 * reading writer splices this module's fragment (freshness/rollup-changes.fragment.ts) into
 * its insert and asks RollupFreshnessService for the catch-up job after a backfill (its
 * processor: analytics-jobs.module.ts, worker role); retention calls RollupFreshnessService.
 */
@Module({
  imports: [DevicesModule],
  controllers: [AnalyticsController],
  providers: [
    AnalyticsService,
    RollupFreshnessService,
    RollupFreshnessRepository,
    RollupMetrics,
    RollupMetricsRepository,
    RollupQueriesRepository,
    ReadingQueriesRepository,
  ],
  exports: [AnalyticsService, RollupFreshnessService],
})
export class AnalyticsModule {}
