import { Injectable } from '@nestjs/common';
import { ValidationError } from '../../core/errors/app-error';
import { timeRange } from '../../core/http/times';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { AggregateQuery, MetricQuery, StatsQuery } from './dto/analytics-query.dto';
import { parseInterval, WINDOW_SECONDS } from './intervals';
import type { MetricFilter, Stats } from './query/answers';
import { RollupMetrics } from './freshness/rollup-metrics.service';
import { ReadingQueriesRepository } from './query/reading-queries.repository';
import { RollupQueriesRepository } from './query/rollup-queries.repository';
import { HOUR_MS, planRollups, RollupPlan } from './rollup-plan';

const DEFAULT_AGGREGATE_SPAN_MS = 86_400_000;
const DEFAULT_INTERVAL = '1h';
/** Queries spanning more hours than this (about 13 months) read the readings instead of rollups. */
const MAX_ROLLUP_HOURS = 10_000;
/** The stats of no values, as the readings would answer them. */
const NO_STATS: Stats = { count: 0, min: null, max: null, mean: null, p50: null, p95: null, p99: null, unique_devices: 0 };

/**
 * Aggregate and stats over a tenant's readings, every number computed in SQL: from exact
 * rollups project-wide, from the readings by device or tag (docs/analytics.md).
 */
@Injectable()
export class AnalyticsService {
  constructor(
    private readonly devices: DevicesService,
    private readonly rollups: RollupQueriesRepository,
    private readonly readings: ReadingQueriesRepository,
    private readonly rollupMetrics: RollupMetrics,
  ) {}

  async aggregate(scope: TenantScope, q: AggregateQuery) {
    const interval = q.interval ?? DEFAULT_INTERVAL;
    const seconds = parseInterval(interval);
    const filter = await this.metricFilter(scope, q, DEFAULT_AGGREGATE_SPAN_MS);
    // Rollups hold whole minutes, and whole hours when the buckets do.
    const plan = seconds % 60 === 0 ? await this.rollupPlan(scope, filter, seconds % 3600 === 0) : null;
    const buckets =
      plan === 'nothing' ? [] : plan ? await this.rollups.aggregate(scope.projectId, filter.metric, plan, seconds) : await this.readings.aggregate(scope, filter, seconds);
    return {
      metric: q.metric,
      interval,
      buckets: buckets.map((b) => ({
        start: new Date(b.start).toISOString(),
        count: Number(b.count),
        sum: b.sum,
        avg: b.avg,
        min: b.min,
        max: b.max,
      })),
    };
  }

  async stats(scope: TenantScope, q: StatsQuery): Promise<Stats> {
    if (q.window && (q.from || q.to)) throw ValidationError.field('window', 'give either window or from/to, not both');
    const span = (q.window ? WINDOW_SECONDS[q.window] : WINDOW_SECONDS['1h']) * 1000;
    const filter = await this.metricFilter(scope, q, span);
    const plan = await this.rollupPlan(scope, filter, true);
    const s = plan === 'nothing' ? NO_STATS : plan ? await this.rollups.stats(scope.projectId, filter.metric, plan) : await this.readings.stats(scope, filter);
    return { ...s, count: Number(s.count), unique_devices: Number(s.unique_devices) };
  }

  /**
   * Project-wide queries read rollups (the plan); by device or tag they read the readings
   * (null), which the (device_id, ts) index or the tag narrows. So does a span too long to keep
   * rollups for, and a metric without rollups (RollupMetrics: past the project's limit). A
   * metric that would have had rollups but has none was never written: 'nothing', an empty
   * answer without reading anything.
   */
  private async rollupPlan(scope: TenantScope, f: MetricFilter, useHours: boolean): Promise<RollupPlan | 'nothing' | null> {
    if (f.deviceId !== undefined || f.tag !== undefined) return null;
    const plan = planRollups(f.from.getTime(), f.to.getTime(), useHours);
    if (plan.refresh.to - plan.refresh.from > MAX_ROLLUP_HOURS * HOUR_MS) return null;
    const source = await this.rollupMetrics.sourceOf(scope.projectId, f.metric);
    return source === 'rollups' ? plan : source === 'nothing' ? 'nothing' : null;
  }

  /** Without from/to the range is the `spanMs` before now; a device must be the tenant's. */
  private async metricFilter(scope: TenantScope, q: MetricQuery, spanMs: number): Promise<MetricFilter> {
    if (q.device_id !== undefined) await this.devices.require(scope, q.device_id);
    const range = timeRange(q);
    const to = range.to ?? new Date();
    const from = range.from ?? new Date(to.getTime() - spanMs);
    return { metric: q.metric, from, to, deviceId: q.device_id, tag: q.tag?.trim() };
  }
}
