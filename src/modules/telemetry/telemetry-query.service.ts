import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { NotFoundError, ValidationError } from '../../core/errors/app-error';
import { DEFAULT_LIMIT, Page } from '../../core/http/pagination';
import { queryTime, timeRange } from '../../core/http/times';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { parseInterval, WINDOW_SECONDS } from './analytics/intervals';
import { HOUR_MS, planRollups, RollupPlan } from './analytics/rollup-plan';
import { RollupsRepository } from './analytics/rollups.repository';
import { ReadingResponse, toReadingResponse } from './dto/reading.response';
import {
  AggregateQuery,
  MetricQuery,
  RecentReadingsQuery,
  SinceQuery,
  StatsQuery,
  TagSearchQuery,
} from './dto/reading-query.dto';
import { MetricFilter, ReadingRange, ReadingsRepository, Stats, StoredReading } from './readings.repository';

const DEFAULT_AGGREGATE_SPAN_MS = 86_400_000;
const DEFAULT_INTERVAL = '1h';
/** Queries spanning more hours than this (about 13 months) read the readings instead of rollups. */
const MAX_ROLLUP_HOURS = 10_000;

const encodeCursor = (r: StoredReading) => Buffer.from(`r:${r.ts.getTime()}:${r.id}`).toString('base64url');

function decodeCursor(cursor: string | undefined): ReadingRange['before'] {
  if (!cursor) return null;
  const m = /^r:(-?\d{1,15}):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw ValidationError.field('cursor', 'cursor is not one this API returned');
  return { ts: new Date(Number(m[1])), id: Number(m[2]) };
}

function page(rows: StoredReading[], limit: number): Page<ReadingResponse> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return new Page(kept.map(toReadingResponse), more ? encodeCursor(kept[kept.length - 1]) : null);
}

/** Reads and analytics over a tenant's readings; every number is computed in SQL. */
@Injectable()
export class TelemetryQueryService {
  constructor(
    private readonly repo: ReadingsRepository,
    private readonly devices: DevicesService,
    private readonly rollups: RollupsRepository,
  ) {}

  async recent(scope: TenantScope, deviceId: number, q: RecentReadingsQuery): Promise<Page<ReadingResponse>> {
    await this.devices.require(scope, deviceId);
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.recent(scope, deviceId, { ...timeRange(q), limit, before: decodeCursor(q.cursor) });
    return page(rows, limit);
  }

  async latest(scope: TenantScope, deviceId: number): Promise<ReadingResponse> {
    await this.devices.require(scope, deviceId);
    const row = await this.repo.latest(scope, deviceId);
    if (!row) throw new NotFoundError('TELEMETRY.NO_READINGS', 'no telemetry for this device');
    return toReadingResponse(row);
  }

  async since(scope: TenantScope, deviceId: number, q: SinceQuery): Promise<ReadingResponse[]> {
    await this.devices.require(scope, deviceId);
    const from = queryTime('since_ts', String(q.since_ts))!;
    // Strictly after since_ts: a client polls with the ts of the last reading it has.
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.recent(scope, deviceId, { from: new Date(from.getTime() + 1), to: null, limit, before: null });
    return rows.slice(0, limit).map(toReadingResponse);
  }

  /** For rule evaluation: the device's newest `n` readings, newest first, in its transaction. */
  window(tx: EntityManager, scope: TenantScope, deviceId: number, n: number) {
    return this.repo.window(tx, scope, deviceId, n);
  }

  async searchByTag(scope: TenantScope, q: TagSearchQuery): Promise<Page<ReadingResponse>> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.byTag(scope, q.tag.trim(), { ...timeRange(q), limit, before: decodeCursor(q.cursor) });
    return page(rows, limit);
  }

  async aggregate(scope: TenantScope, q: AggregateQuery) {
    const interval = q.interval ?? DEFAULT_INTERVAL;
    const seconds = parseInterval(interval);
    const filter = await this.metricFilter(scope, q, DEFAULT_AGGREGATE_SPAN_MS);
    // Rollups hold whole minutes, and whole hours when the buckets do.
    const plan = seconds % 60 === 0 ? this.rollupPlan(filter, seconds % 3600 === 0) : null;
    const buckets = plan
      ? await this.rollups.aggregate(scope.projectId, filter.metric, plan, seconds)
      : await this.repo.aggregate(scope, filter, seconds);
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
    const plan = this.rollupPlan(filter, true);
    const s = plan
      ? await this.rollups.stats(scope.projectId, filter.metric, plan)
      : await this.repo.stats(scope, filter);
    return { ...s, count: Number(s.count), unique_devices: Number(s.unique_devices) };
  }

  /**
   * Project-wide queries read rollups (see RollupsRepository); by device or tag they read the
   * readings, which the (device_id, ts) index or the tag narrows. So does a span too long to
   * keep rollups for.
   */
  private rollupPlan(f: MetricFilter, useHours: boolean): RollupPlan | null {
    if (f.deviceId !== undefined || f.tag !== undefined) return null;
    const plan = planRollups(f.from.getTime(), f.to.getTime(), useHours);
    return plan.refresh.to - plan.refresh.from <= MAX_ROLLUP_HOURS * HOUR_MS ? plan : null;
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
