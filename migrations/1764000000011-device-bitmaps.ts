import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The distinct-device count of project-wide `stats` over many hours as a bitmap union
 * (docs/analytics.md, "Counting distinct devices"):
 *  - every device gets a dense number within its project, `ordinal` (0, 1, 2, … in creation
 *    order), given by a trigger on insert from `projects.next_device_ordinal`, whatever path
 *    inserts the device. The trigger takes the project row's lock, so concurrent creations in
 *    one project are numbered one after the other; an insert that will meet an existing
 *    external_id takes no number (the next one is tried and refused, not used). A number is
 *    never given again: a deleted device's number goes with it, and the counter never goes back;
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
    // In READ COMMITTED each statement here sees what committed before it, so once the project
    // row is locked the duplicate check sees every device created before this one.
    await q.query(`
      CREATE FUNCTION assign_device_ordinal() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        SELECT next_device_ordinal INTO NEW.ordinal FROM projects WHERE id = NEW.project_id FOR NO KEY UPDATE;
        IF NOT EXISTS (SELECT 1 FROM devices WHERE project_id = NEW.project_id AND external_id = NEW.external_id) THEN
          UPDATE projects SET next_device_ordinal = next_device_ordinal + 1 WHERE id = NEW.project_id;
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER devices_ordinal BEFORE INSERT ON devices FOR EACH ROW EXECUTE FUNCTION assign_device_ordinal()`);

    await q.query(`ALTER TABLE metric_rollups ADD COLUMN device_bits bit varying CHECK (span_s = 3600 OR device_bits IS NULL)`);
    await q.query(`
      UPDATE metric_rollups h SET device_bits = b.bits
        FROM (SELECT project_id, metric, start,
                     CASE WHEN count(o) = max(n) THEN string_agg(repeat('0', o - prev - 1) || '1', '' ORDER BY o)::varbit END AS bits
                FROM (SELECT h.project_id, h.metric, h.start, cardinality(h.devices) AS n, d.ordinal AS o,
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
    await q.query(`DROP TRIGGER devices_ordinal ON devices`);
    await q.query(`DROP FUNCTION assign_device_ordinal()`);
    await q.query(`ALTER TABLE devices DROP COLUMN ordinal`);
    await q.query(`ALTER TABLE projects DROP COLUMN next_device_ordinal`);
  }
}
