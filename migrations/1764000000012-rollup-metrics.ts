import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The metrics of each project that have rollups (docs/analytics.md, "Which metrics have
 * rollups"): the first ROLLUP_METRICS_PER_PROJECT distinct metrics a project writes numbers
 * for are admitted, for good, before the flush that first writes them commits; any later one
 * gets no rollups, and its aggregate and stats read the readings. A metric is never removed
 * here while its project exists, so a process that saw a project full may trust that forever.
 * Every metric with a number in the readings already stored is admitted here, whatever the
 * limit, since the rollups of its hours may exist.
 */
export class RollupMetrics1764000000012 implements MigrationInterface {
  name = 'RollupMetrics1764000000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rollup_metrics (
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        metric text NOT NULL,
        PRIMARY KEY (project_id, metric)
      )`);
    await q.query(`
      INSERT INTO rollup_metrics (project_id, metric)
      SELECT DISTINCT r.project_id, e.key FROM readings r CROSS JOIN LATERAL jsonb_each(r.payload) AS e
       WHERE jsonb_typeof(e.value) = 'number'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rollup_metrics`);
  }
}
