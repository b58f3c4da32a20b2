import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SqlParams } from '../../../core/database/sql-params';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { epochBucket, isNumber, numberAt } from '../metric-sql';
import type { Bucket, MetricFilter, Stats } from './answers';

/**
 * The query half of analytics over the readings themselves: aggregate and stats by device or
 * tag, for intervals that are not whole minutes and for spans too long for rollups
 * (docs/analytics.md). Raw SQL: the reads must use the (device_id, ts) index and partition pruning.
 */
@Injectable()
export class ReadingQueriesRepository {
  constructor(private readonly ds: DataSource) {}

  aggregate(scope: TenantScope, filter: MetricFilter, intervalSeconds: number): Promise<Bucket[]> {
    const q = new SqlParams();
    const values = numericValues(q, scope, filter);
    // Buckets align to multiples of the interval since the Unix epoch, whatever `from` is.
    return this.analytics(
      `SELECT ${epochBucket('ts', q.add(intervalSeconds))} AS start,
              count(*)::int AS count, sum(v) AS sum, avg(v) AS avg, min(v) AS min, max(v) AS max
         FROM (${values}) x GROUP BY 1 ORDER BY 1`,
      q.values,
    );
  }

  async stats(scope: TenantScope, filter: MetricFilter): Promise<Stats> {
    const q = new SqlParams();
    const values = numericValues(q, scope, filter);
    // percentile_disc is the nearest-rank percentile: the smallest value whose cumulative share
    // reaches p. The three share one sort; distinct devices are counted by hashing, not sorting.
    const [row] = await this.analytics<Stats & { ps: number[] | null }>(
      `WITH x AS (${values})
       SELECT count(*)::int AS count, min(v) AS min, max(v) AS max, avg(v) AS mean,
              percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY v) AS ps,
              (SELECT count(*)::int FROM (SELECT device_id FROM x GROUP BY device_id) d) AS unique_devices
         FROM x`,
      q.values,
    );
    const { ps, ...rest } = row;
    return { ...rest, p50: ps?.[0] ?? null, p95: ps?.[1] ?? null, p99: ps?.[2] ?? null };
  }

  /**
   * Analytics statements sort and hash up to millions of values; the default work_mem (4 MB)
   * would send them to disk, so they get more, for their own transaction only.
   */
  private analytics<T = Bucket>(sql: string, params: unknown[]): Promise<T[]> {
    return this.ds.transaction(async (tx) => {
      await tx.query(`SET LOCAL work_mem = '64MB'`);
      return tx.query(sql, params);
    });
  }
}

/** SQL of the numeric values of one metric in a project's readings, as (ts, device_id, v). */
function numericValues(q: SqlParams, scope: TenantScope, f: MetricFilter): string {
  const project = q.add(scope.projectId);
  const metric = `${q.add(f.metric)}::text`;
  const where = [`r.project_id = ${project}`, `r.ts >= ${q.add(f.from)}`, `r.ts <= ${q.add(f.to)}`, isNumber('r.payload', metric)];
  if (f.deviceId !== undefined) where.push(`r.device_id = ${q.add(f.deviceId)}`);
  if (f.tag !== undefined) {
    where.push(`r.device_id IN (SELECT id FROM devices WHERE project_id = ${project} AND tags @> ARRAY[${q.add(f.tag)}::text])`);
  }
  return `SELECT r.ts, r.device_id, ${numberAt('r.payload', metric)} AS v FROM readings r WHERE ${where.join(' AND ')}`;
}
