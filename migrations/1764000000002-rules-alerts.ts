import { MigrationInterface, QueryRunner } from 'typeorm';

export class RulesAlerts1764000000002 implements MigrationInterface {
  name = 'RulesAlerts1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rules (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name varchar(200) NOT NULL,
        metric varchar(64) NOT NULL,
        operator varchar(2) NOT NULL CHECK (operator IN ('>', '>=', '<', '<=')),
        threshold double precision NOT NULL,
        window_n integer NOT NULL CHECK (window_n BETWEEN 1 AND 10000),
        required_k integer NOT NULL CHECK (required_k BETWEEN 1 AND 10000),
        cooldown_seconds integer NOT NULL DEFAULT 300 CHECK (cooldown_seconds BETWEEN 0 AND 86400),
        enabled boolean NOT NULL DEFAULT true,
        scope varchar(10) NOT NULL CHECK (scope IN ('ALL', 'TAG', 'EXPLICIT')),
        tag varchar(64),
        severity varchar(10) NOT NULL DEFAULT 'warning' CHECK (severity IN ('info', 'warning', 'critical')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT rules_k_within_n CHECK (required_k <= window_n),
        CONSTRAINT rules_tag_iff_tag_scope CHECK ((scope = 'TAG') = (tag IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX rules_project_idx ON rules (project_id, id)`);
    await q.query(`
      CREATE TABLE rule_devices (
        rule_id bigint NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
        device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        PRIMARY KEY (rule_id, device_id)
      )`);
    await q.query(`CREATE INDEX rule_devices_device_idx ON rule_devices (device_id)`);
    await q.query(`
      CREATE TABLE alerts (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        rule_id bigint NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
        status varchar(12) NOT NULL CHECK (status IN ('firing', 'acknowledged', 'resolved')),
        severity varchar(10) NOT NULL,
        triggered_at timestamptz NOT NULL DEFAULT now(),
        acknowledged_at timestamptz,
        resolved_at timestamptz,
        details jsonb NOT NULL
      )`);
    // The invariant itself: at most one open alert per (rule, device), whatever the code does.
    await q.query(`CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (rule_id, device_id) WHERE status <> 'resolved'`);
    await q.query(`CREATE INDEX alerts_project_idx ON alerts (project_id, id)`);
    await q.query(`CREATE INDEX alerts_device_idx ON alerts (device_id, id)`);
    await q.query(`CREATE INDEX alerts_pair_triggered_idx ON alerts (rule_id, device_id, triggered_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE alerts`);
    await q.query(`DROP TABLE rule_devices`);
    await q.query(`DROP TABLE rules`);
  }
}
