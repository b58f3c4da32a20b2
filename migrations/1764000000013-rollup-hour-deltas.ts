import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A backfill's deltas also summed per hour (docs/analytics.md, "Keeping rollups exact"): when
 * the reading writer records a backfill of an hour that has rollups as minute deltas, it also
 * writes the hour's delta, the rollup of the same values over the whole hour, into
 * `metric_rollup_hour_deltas`, and marks the minute deltas `in_hour`. A query reads a whole hour
 * as its hour row plus its hour deltas plus the minute deltas not `in_hour` (live data's), and a
 * minute as its minute row plus all its minute deltas, so a backfill of 10,000 values over a
 * day costs a query of the day 24 hour deltas instead of 10,000 minute rows. The catch-up merges
 * hour deltas into hour rows and minute deltas into minute rows, in one snapshot as before.
 * Existing minute deltas are live data's (`in_hour` false), exactly as they were read before.
 * Whole hours read only the minute deltas not `in_hour`, so the deltas' index leads with
 * `in_hour` after the metric: a query of a day does not walk a waiting backfill's 10,000 rows.
 */
export class RollupHourDeltas1764000000013 implements MigrationInterface {
  name = 'RollupHourDeltas1764000000013';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE metric_rollup_deltas ADD COLUMN in_hour boolean NOT NULL DEFAULT false`);
    // Whole hours read only the minute deltas not in_hour: the index finds either kind without
    // visiting the other.
    await q.query(`DROP INDEX metric_rollup_deltas_idx`);
    await q.query(`CREATE INDEX metric_rollup_deltas_idx ON metric_rollup_deltas (project_id, metric, in_hour, minute)`);
    await q.query(`
      CREATE TABLE metric_rollup_hour_deltas (
        project_id bigint NOT NULL,
        metric text NOT NULL,
        hour timestamptz NOT NULL,
        count bigint NOT NULL,
        sum float8 NOT NULL,
        min float8 NOT NULL,
        max float8 NOT NULL,
        vals float8[] NOT NULL,
        cnts int[] NOT NULL,
        devices bigint[] NOT NULL,
        dcnts int[] NOT NULL,
        dfirst timestamptz[] NOT NULL,
        dlast timestamptz[] NOT NULL
      )`);
    await q.query(`CREATE INDEX metric_rollup_hour_deltas_idx ON metric_rollup_hour_deltas (project_id, metric, hour)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE metric_rollup_hour_deltas`);
    await q.query(`DROP INDEX metric_rollup_deltas_idx`);
    await q.query(`ALTER TABLE metric_rollup_deltas DROP COLUMN in_hour`);
    await q.query(`CREATE INDEX metric_rollup_deltas_idx ON metric_rollup_deltas (project_id, metric, minute)`);
  }
}
