import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Readings, range-partitioned by event time (one partition a day, a default partition for
 * anything outside the prepared range). A unique key on a partitioned table must contain the
 * partition key, so a reading's identity is (device_id, ts, event_id): a resent event always
 * carries its ts, and the derived event_id hashes ts and data. The same index serves the hot
 * read, "a device's readings by time", so ingestion maintains exactly one index.
 * There is no foreign key to devices: its per-row check costs about a quarter of the bulk
 * insert. Instead the writer inserts only rows of devices it has locked, and a trigger
 * deletes a device's readings with the device (a delete waits for the writer's lock).
 */
export class Telemetry1764000000001 implements MigrationInterface {
  name = 'Telemetry1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE readings_id_seq AS bigint CACHE 100`);
    await q.query(`
      CREATE TABLE readings (
        id bigint NOT NULL DEFAULT nextval('readings_id_seq'),
        project_id bigint NOT NULL,
        device_id bigint NOT NULL,
        event_id varchar(200) NOT NULL,
        ts timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        payload jsonb NOT NULL
      ) PARTITION BY RANGE (ts)`);
    await q.query(`ALTER SEQUENCE readings_id_seq OWNED BY readings.id`);
    await q.query(`CREATE UNIQUE INDEX readings_identity_idx ON readings (device_id, ts, event_id)`);
    await q.query(`CREATE TABLE readings_default PARTITION OF readings DEFAULT`);
    await q.query(`
      CREATE FUNCTION delete_device_readings() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM readings WHERE device_id = OLD.id;
        RETURN OLD;
      END $$`);
    await q.query(`
      CREATE TRIGGER devices_delete_readings AFTER DELETE ON devices
      FOR EACH ROW EXECUTE FUNCTION delete_device_readings()`);

    // Creates the day's partition if missing, moving any rows of that day out of the default
    // partition first (attaching would otherwise fail). Idempotent and safe to run concurrently.
    await q.query(`
      CREATE FUNCTION ensure_readings_partition(day date) RETURNS boolean
      LANGUAGE plpgsql AS $$
      DECLARE
        part text := 'readings_p' || to_char(day, 'YYYYMMDD');
        lo timestamptz := (day::timestamp AT TIME ZONE 'UTC');
        hi timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
      BEGIN
        IF to_regclass(part) IS NOT NULL THEN RETURN false; END IF;
        PERFORM pg_advisory_xact_lock(727002);
        IF to_regclass(part) IS NOT NULL THEN RETURN false; END IF;
        LOCK TABLE readings_default IN ACCESS EXCLUSIVE MODE;
        EXECUTE format('CREATE TABLE %I (LIKE readings INCLUDING DEFAULTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM readings_default WHERE ts >= %L AND ts < %L RETURNING *)
                        INSERT INTO %I SELECT * FROM moved', lo, hi, part);
        EXECUTE format('ALTER TABLE readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        RETURN true;
      END $$`);
    await q.query(`SELECT ensure_readings_partition((now() AT TIME ZONE 'UTC')::date + d) FROM generate_series(-1, 7) AS d`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ensure_readings_partition(date)`);
    await q.query(`DROP TRIGGER devices_delete_readings ON devices`);
    await q.query(`DROP FUNCTION delete_device_readings()`);
    await q.query(`DROP TABLE readings`);
  }
}
