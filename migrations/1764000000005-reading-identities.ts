import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A reading's identity is (device_id, event_id), whatever its ts (docs/ingest.md). The readings
 * table is partitioned by ts, and a unique key on it must contain ts, so the identity gets a
 * table of its own, claimed by the writer in the readings' own statement: a resend with
 * another ts finds its identity taken. `ts` is the stored reading's event time, so retention
 * removes identities together with the readings of the days it drops (BRIN: identities are
 * written roughly in ts order and the index costs the insert next to nothing). event_id is in
 * the "C" collation: the key compares event_ids of one device on every descent, and byte
 * comparisons cost a fraction of a language's rules (equality is the same either way); this
 * halved the identity's insert cost.
 *
 * With the identity here, readings' own unique index (device_id, ts, event_id) enforces
 * nothing any more; a plain (device_id, ts) index serves the reads ("a device's readings by
 * time") and costs ingestion less than a unique one (no speculative insertion, a shorter key).
 *
 * Readings Postgres refuses (a poison row that got past validation) are kept in
 * failed_readings with the reason, instead of costing the rest of their batch. `event` is the
 * reading as JSON text ({event_id, ts, data}, with every character JSON can escape escaped),
 * so whatever a jsonb or text column refused still fits; md5(event) makes recording it again
 * after a retried job a no-op.
 */
export class ReadingIdentities1764000000005 implements MigrationInterface {
  name = 'ReadingIdentities1764000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE reading_identities (
        device_id bigint NOT NULL,
        event_id varchar(200) COLLATE "C" NOT NULL,
        ts timestamptz NOT NULL,
        PRIMARY KEY (device_id, event_id)
      )`);
    await q.query(`CREATE INDEX reading_identities_ts_idx ON reading_identities USING brin (ts)`);
    await q.query(`CREATE INDEX readings_device_ts_idx ON readings (device_id, ts)`);
    await q.query(`DROP INDEX readings_identity_idx`);
    // Readings stored before this migration keep their identity (the earliest ts of each).
    await q.query(`
      INSERT INTO reading_identities (device_id, event_id, ts)
      SELECT device_id, event_id, min(ts) FROM readings GROUP BY device_id, event_id`);
    await q.query(`
      CREATE TABLE failed_readings (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL,
        device_id bigint NOT NULL,
        event text NOT NULL,
        received_at timestamptz,
        reason text NOT NULL,
        code text,
        failed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX failed_readings_event_idx ON failed_readings (device_id, md5(event))`);
    await q.query(`CREATE INDEX failed_readings_project_idx ON failed_readings (project_id, id)`);
    await q.query(`
      CREATE OR REPLACE FUNCTION delete_device_readings() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM readings WHERE device_id = OLD.id;
        DELETE FROM reading_identities WHERE device_id = OLD.id;
        DELETE FROM failed_readings WHERE device_id = OLD.id;
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
        PERFORM pg_advisory_xact_lock(727020, (OLD.project_id % 2147483647)::int);
        DELETE FROM metric_rollups WHERE project_id = OLD.project_id;
        RETURN OLD;
      END $$`);
    await q.query(`DROP TABLE failed_readings`);
    await q.query(`CREATE UNIQUE INDEX readings_identity_idx ON readings (device_id, ts, event_id)`);
    await q.query(`DROP INDEX readings_device_ts_idx`);
    await q.query(`DROP TABLE reading_identities`);
  }
}
