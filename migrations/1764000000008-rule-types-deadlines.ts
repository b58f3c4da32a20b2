import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rule types (threshold, no_data), sustained conditions (for_seconds), clear thresholds, and
 * the per-(rule, device) deadlines the evaluation timer works from (see docs/rules.md).
 */
export class RuleTypesDeadlines1764000000008 implements MigrationInterface {
  name = 'RuleTypesDeadlines1764000000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE rules
        ADD COLUMN type varchar(10) NOT NULL DEFAULT 'threshold' CHECK (type IN ('threshold', 'no_data')),
        ADD COLUMN for_seconds integer CHECK (for_seconds BETWEEN 0 AND 86400),
        ADD COLUMN clear_threshold double precision,
        ADD COLUMN no_data_seconds integer CHECK (no_data_seconds BETWEEN 5 AND 604800),
        ALTER COLUMN metric DROP NOT NULL,
        ALTER COLUMN operator DROP NOT NULL,
        ALTER COLUMN threshold DROP NOT NULL,
        ALTER COLUMN window_n DROP NOT NULL,
        ALTER COLUMN required_k DROP NOT NULL`);
    await q.query(`UPDATE rules SET for_seconds = 0`);
    await q.query(`
      ALTER TABLE rules ADD CONSTRAINT rules_fields_of_type CHECK (
        CASE type
          WHEN 'threshold' THEN metric IS NOT NULL AND operator IS NOT NULL AND threshold IS NOT NULL
                            AND window_n IS NOT NULL AND required_k IS NOT NULL AND for_seconds IS NOT NULL
                            AND no_data_seconds IS NULL
          ELSE operator IS NULL AND threshold IS NULL AND window_n IS NULL AND required_k IS NULL
               AND for_seconds IS NULL AND clear_threshold IS NULL AND no_data_seconds IS NOT NULL
        END)`);

    // One row per (rule, device) that a timer must look at: a no-data rule's silence clock
    // (every watched device has one), or a threshold rule's pending for_seconds condition.
    // due_at is when the timer looks next (null: nothing to do until data arrives).
    await q.query(`
      CREATE TABLE rule_deadlines (
        rule_id bigint NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
        device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        project_id bigint NOT NULL,
        clock_at timestamptz NOT NULL, -- whole milliseconds, as JavaScript holds it
        last_reading_at timestamptz,
        due_at timestamptz,
        PRIMARY KEY (rule_id, device_id)
      )`);
    await q.query(`CREATE INDEX rule_deadlines_due_idx ON rule_deadlines (due_at) WHERE due_at IS NOT NULL`);
    await q.query(`CREATE INDEX rule_deadlines_device_idx ON rule_deadlines (device_id)`);

    // A device that is created or whose tags change comes under (or leaves) no-data rules
    // whatever code path made the change; the rule-side changes are made by the rules module.
    await q.query(`
      CREATE FUNCTION rule_deadlines_follow_device() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM rule_deadlines rd USING rules r
         WHERE rd.device_id = NEW.id AND r.id = rd.rule_id AND r.scope = 'TAG' AND NOT (r.tag = ANY (NEW.tags));
        INSERT INTO rule_deadlines (rule_id, device_id, project_id, clock_at, due_at)
        SELECT r.id, NEW.id, NEW.project_id, date_trunc('milliseconds', clock_timestamp()),
               date_trunc('milliseconds', clock_timestamp()) + make_interval(secs => r.no_data_seconds)
          FROM rules r
         WHERE r.project_id = NEW.project_id AND r.type = 'no_data' AND r.enabled
           AND (r.scope = 'ALL' OR (r.scope = 'TAG' AND r.tag = ANY (NEW.tags)))
        ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER devices_rule_deadlines_insert AFTER INSERT ON devices
        FOR EACH ROW EXECUTE FUNCTION rule_deadlines_follow_device()`);
    await q.query(`
      CREATE TRIGGER devices_rule_deadlines_tags AFTER UPDATE OF tags ON devices
        FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION rule_deadlines_follow_device()`);

    // Alert lists are newest triggered_at first, then id.
    await q.query(`CREATE INDEX alerts_project_triggered_idx ON alerts (project_id, triggered_at, id)`);
    await q.query(`CREATE INDEX alerts_device_triggered_idx ON alerts (device_id, triggered_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX alerts_device_triggered_idx`);
    await q.query(`DROP INDEX alerts_project_triggered_idx`);
    await q.query(`DROP TRIGGER devices_rule_deadlines_tags ON devices`);
    await q.query(`DROP TRIGGER devices_rule_deadlines_insert ON devices`);
    await q.query(`DROP FUNCTION rule_deadlines_follow_device()`);
    await q.query(`DROP TABLE rule_deadlines`);
    await q.query(`DELETE FROM rules WHERE type <> 'threshold'`);
    await q.query(`
      ALTER TABLE rules DROP CONSTRAINT rules_fields_of_type,
        DROP COLUMN type, DROP COLUMN for_seconds, DROP COLUMN clear_threshold, DROP COLUMN no_data_seconds,
        ALTER COLUMN metric SET NOT NULL, ALTER COLUMN operator SET NOT NULL, ALTER COLUMN threshold SET NOT NULL,
        ALTER COLUMN window_n SET NOT NULL, ALTER COLUMN required_k SET NOT NULL`);
  }
}
