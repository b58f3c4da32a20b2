import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ADVISORY_LOCKS } from '../../../core/database/advisory-locks';
import { inTransaction } from '../../../core/database/transaction';

/** What the registry says of some metrics of one project. */
export interface RollupMetricsState {
  /** Those of the metrics asked that have rollups. */
  rolled: string[];
  /** Whether the project has as many metrics with rollups as it may (never for an unlimited one). */
  full: boolean;
}

/**
 * The metrics of each project that have rollups (table `rollup_metrics`, migration
 * 1764000000012; docs/analytics.md, "Which metrics have rollups"). Admitted for good, never
 * removed while the project exists.
 */
@Injectable()
export class RollupMetricsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Admits `metrics` (distinct) to the project's rollups in their order, as long as it has
   * fewer than `limit` (0: no limit), and tells which of them have rollups now. Under the
   * project's admission lock, so concurrent writers never admit past the limit; its own
   * statements see what the lock's previous holder committed.
   */
  admit(projectId: number, metrics: readonly string[], limit: number): Promise<RollupMetricsState> {
    return inTransaction(this.ds, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock($1, ($2::bigint % 2147483647)::int)`, [ADVISORY_LOCKS.rollupMetrics, projectId]);
      await tx.query(
        `INSERT INTO rollup_metrics (project_id, metric)
         SELECT $1, u.m FROM unnest($2::text[]) WITH ORDINALITY AS u(m, o)
          WHERE NOT EXISTS (SELECT 1 FROM rollup_metrics r WHERE r.project_id = $1 AND r.metric = u.m)
          ORDER BY u.o
          LIMIT CASE WHEN $3::bigint IS NOT NULL THEN greatest(0, $3::bigint - (SELECT count(*) FROM rollup_metrics WHERE project_id = $1)) END`,
        [projectId, metrics, limit || null],
      );
      return this.state(tx, projectId, metrics, limit);
    });
  }

  /** Which of `metrics` have rollups, and whether the project is full (`limit` 0: never). */
  lookUp(projectId: number, metrics: readonly string[], limit: number): Promise<RollupMetricsState> {
    return this.state(this.ds.manager, projectId, metrics, limit);
  }

  /** Every metric of the project that has rollups. */
  async allOf(projectId: number): Promise<string[]> {
    const rows: { metric: string }[] = await this.ds.query(`SELECT metric FROM rollup_metrics WHERE project_id = $1`, [projectId]);
    return rows.map((r) => r.metric);
  }

  private async state(tx: EntityManager, projectId: number, metrics: readonly string[], limit: number): Promise<RollupMetricsState> {
    const [row]: RollupMetricsState[] = await tx.query(
      `SELECT ARRAY(SELECT metric FROM rollup_metrics WHERE project_id = $1 AND metric = ANY($2::text[])) AS rolled,
              $3::bigint IS NOT NULL AND (SELECT count(*) FROM rollup_metrics WHERE project_id = $1) >= $3::bigint AS full`,
      [projectId, metrics, limit || null],
    );
    return { rolled: row.rolled, full: row.full };
  }
}
