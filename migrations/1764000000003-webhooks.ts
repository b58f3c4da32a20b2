import { MigrationInterface, QueryRunner } from 'typeorm';

export class Webhooks1764000000003 implements MigrationInterface {
  name = 'Webhooks1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhooks (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        url varchar(2048) NOT NULL,
        secret text NOT NULL,
        event_types text[] NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhooks_project_idx ON webhooks (project_id, id)`);
    // The outbox: a row per (alert event, webhook), written in the alert change's transaction.
    // The body is frozen at that moment, so every retry sends (and signs) the same bytes.
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        webhook_id bigint NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        alert_id bigint REFERENCES alerts(id) ON DELETE SET NULL,
        event varchar(40) NOT NULL,
        payload jsonb NOT NULL,
        status varchar(10) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'sending', 'retrying', 'success', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        -- attempts made before the current chain (a manual retry starts a fresh retry budget)
        chain_start integer NOT NULL DEFAULT 0,
        last_status_code integer,
        last_error text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempt_log jsonb NOT NULL DEFAULT '[]'
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_project_idx ON webhook_deliveries (project_id, id)`);
    await q.query(`CREATE INDEX webhook_deliveries_project_status_idx ON webhook_deliveries (project_id, status, id)`);
    // What the sweeper scans: deliveries still owed an attempt.
    await q.query(
      `CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
        WHERE status IN ('pending', 'sending', 'retrying')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhooks`);
  }
}
