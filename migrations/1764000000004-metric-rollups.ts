import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rollups of one metric's numeric values per project, by minute (span_s 60) and by hour
 * (span_s 3600), so project-wide aggregate and stats read a few hundred rows instead of every
 * reading: count, sum, min, max, the value histogram (distinct values ascending with their
 * counts, for exact nearest-rank percentiles) and the distinct devices with their counts and
 * first and last event times. So a minute's row minus a few of its readings is exact too (a
 * query that ends in the middle of a busy minute reads the shorter part of that minute), and
 * an hour's row tells which devices have readings after or before any time in the hour.
 *
 * They are built on demand, per (project, metric) and whole hours, by the query that needs
 * them, and kept exact this way:
 *  - an hour has rollups iff its hour row exists (count 0 for an hour without values);
 *  - in the readings' own statement, the reading writer records for every numeric metric it
 *    writes, per project and hour, either a delta (the minute rollups of just the readings it
 *    inserted: live data, a few minutes of the hour) or, past a few minutes (a backfill), a
 *    mark (the hour must be rebuilt from the readings);
 *  - a query reads rollups and readings in one REPEATABLE READ snapshot, in which the marks
 *    and deltas are exactly those of the readings it sees. If none waits for the hours it
 *    reads, it takes no lock; otherwise it takes the project's advisory lock, rebuilds the
 *    marked hours, merges the deltas into the minute rows and reads in that same transaction.
 *    So a reading is counted once, by a rebuild or by its delta, a writer committing meanwhile
 *    leaves its own for the next query, and an edge may be read as a minute's rollup less the
 *    rest of that minute;
 *  - whatever removes readings (a device delete, retention) removes the rollups they are in,
 *    under the same locks, so a rebuild in flight cannot write back what was removed.
 * Marks and deltas are appended, never upserted, so concurrent writers never wait on one another.
 */
export class MetricRollups1764000000004 implements MigrationInterface {
  name = 'MetricRollups1764000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE metric_rollup_marks (
        project_id bigint NOT NULL,
        metric text NOT NULL,
        hour timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX metric_rollup_marks_idx ON metric_rollup_marks (project_id, metric, hour)`);
    await q.query(`
      CREATE TABLE metric_rollup_deltas (
        project_id bigint NOT NULL,
        metric text NOT NULL,
        minute timestamptz NOT NULL,
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
    await q.query(`CREATE INDEX metric_rollup_deltas_idx ON metric_rollup_deltas (project_id, metric, minute)`);
    await q.query(`
      CREATE TABLE metric_rollups (
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        metric text NOT NULL,
        span_s int NOT NULL CHECK (span_s IN (60, 3600)),
        start timestamptz NOT NULL,
        count bigint NOT NULL,
        sum float8,
        min float8,
        max float8,
        vals float8[],
        cnts int[],
        devices bigint[],
        dcnts int[],
        dfirst timestamptz[],
        dlast timestamptz[],
        PRIMARY KEY (project_id, metric, span_s, start)
      )`);
    // A device's readings go with it, and so do the rollups they were counted in (all of the
    // project's: which metrics and hours the device had is not known without reading them).
    await q.query(`
      CREATE OR REPLACE FUNCTION delete_device_readings() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM readings WHERE device_id = OLD.id;
        PERFORM pg_advisory_xact_lock(727020, (OLD.project_id % 2147483647)::int);
        DELETE FROM metric_rollups WHERE project_id = OLD.project_id;
        RETURN OLD;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION delete_device_readings() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM readings WHERE device_id = OLD.id;
        RETURN OLD;
      END $$`);
    await q.query(`DROP TABLE metric_rollups`);
    await q.query(`DROP TABLE metric_rollup_deltas`);
    await q.query(`DROP TABLE metric_rollup_marks`);
  }
}
