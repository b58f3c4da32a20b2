import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The distinct-device count of project-wide `stats` over many hours as a bitmap union
 * (docs/analytics.md, "Counting distinct devices"):
 *  - every device gets a dense number within its project, `ordinal` (0, 1, 2, … in creation
 *    order), given on insert by a trigger, whatever path inserts the device: one past the
 *    highest of the project's devices and of `projects.next_device_ordinal`, which remembers
 *    the numbers given (so a deleted device's number is never given again). The trigger takes
 *    the project row's lock, so concurrent creations in one project are numbered one after the
 *    other; an insert refused for an existing external_id uses up no number;
 *  - every hour rollup row gets `device_bits`, bit i (from the left) set iff the project's device
 *    with ordinal i is in its `devices`, as long as the highest ordinal there; null for minute
 *    rows, hours without values, and an hour listing a device that no longer exists (the query
 *    then unnests its `devices`, as it would have before).
 * Existing devices are numbered by id within their project; existing hour rows get their bits
 * from their `devices` here.
 */
export class DeviceBitmaps1764000000011 implements MigrationInterface {
  name = 'DeviceBitmaps1764000000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projects ADD COLUMN next_device_ordinal integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE devices ADD COLUMN ordinal integer`);
    await q.query(`
      UPDATE devices d SET ordinal = n.o
        FROM (SELECT id, (row_number() OVER (PARTITION BY project_id ORDER BY id) - 1)::int AS o FROM devices) n
       WHERE d.id = n.id`);
    await q.query(`
      UPDATE projects p SET next_device_ordinal = n.next
        FROM (SELECT project_id, max(ordinal) + 1 AS next FROM devices GROUP BY project_id) n
       WHERE p.id = n.project_id`);
    await q.query(`ALTER TABLE devices ALTER COLUMN ordinal SET NOT NULL`);
    await q.query(`ALTER TABLE devices ADD CONSTRAINT devices_project_ordinal_key UNIQUE (project_id, ordinal)`);
    // The project row's lock orders concurrent creations; in READ COMMITTED the statement after
    // it sees every device committed before, and rows of the same statement inserted before
    // this one. One counter update per statement, not per row: a transaction updating one row
    // again and again makes each update walk all its earlier versions.
    await q.query(`
      CREATE FUNCTION assign_device_ordinal() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        SELECT greatest(p.next_device_ordinal, (SELECT max(d.ordinal) + 1 FROM devices d WHERE d.project_id = NEW.project_id))
          INTO NEW.ordinal FROM projects p WHERE p.id = NEW.project_id FOR NO KEY UPDATE OF p;
        -- No such project: the foreign key refuses the row, as before.
        NEW.ordinal := coalesce(NEW.ordinal, 0);
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE FUNCTION count_device_ordinals() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE projects p SET next_device_ordinal = a.next
          FROM (SELECT project_id, max(ordinal) + 1 AS next FROM added GROUP BY project_id) a
         WHERE p.id = a.project_id AND p.next_device_ordinal < a.next;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER devices_ordinal BEFORE INSERT ON devices FOR EACH ROW EXECUTE FUNCTION assign_device_ordinal()`);
    await q.query(`
      CREATE TRIGGER devices_ordinal_count AFTER INSERT ON devices REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION count_device_ordinals()`);

    await q.query(`ALTER TABLE metric_rollups ADD COLUMN device_bits bit varying CHECK (span_s = 3600 OR device_bits IS NULL)`);
    await q.query(`
      UPDATE metric_rollups h SET device_bits = b.bits
        FROM (SELECT project_id, metric, start,
                     CASE WHEN count(o) = count(*) THEN string_agg(repeat('0', o - prev - 1) || '1', '' ORDER BY o)::varbit END AS bits
                FROM (SELECT h.project_id, h.metric, h.start, d.ordinal AS o,
                             lag(d.ordinal, 1, -1) OVER (PARTITION BY h.project_id, h.metric, h.start ORDER BY d.ordinal) AS prev
                        FROM metric_rollups h
                        CROSS JOIN unnest(h.devices) AS u(id)
                        LEFT JOIN devices d ON d.id = u.id AND d.project_id = h.project_id
                       WHERE h.span_s = 3600) x
               GROUP BY project_id, metric, start) b
       WHERE h.project_id = b.project_id AND h.metric = b.metric AND h.span_s = 3600 AND h.start = b.start`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE metric_rollups DROP COLUMN device_bits`);
    await q.query(`DROP TRIGGER devices_ordinal_count ON devices`);
    await q.query(`DROP TRIGGER devices_ordinal ON devices`);
    await q.query(`DROP FUNCTION count_device_ordinals()`);
    await q.query(`DROP FUNCTION assign_device_ordinal()`);
    await q.query(`ALTER TABLE devices DROP COLUMN ordinal`);
    await q.query(`ALTER TABLE projects DROP COLUMN next_device_ordinal`);
  }
}
