import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Subscriber controls (docs/webhooks.md): a pace per webhook, and the secrets a rotation left
 * valid for a while. Those are kept as the current secret is (the sender needs the secret
 * itself to sign, so it is stored as given and never shown again), and deleted once expired.
 */
export class WebhookControls1764000000010 implements MigrationInterface {
  name = 'WebhookControls1764000000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE webhooks ADD COLUMN rate_limit_per_second integer
         CHECK (rate_limit_per_second BETWEEN 1 AND 10000)`,
    );
    await q.query(`
      CREATE TABLE webhook_previous_secrets (
        id bigserial PRIMARY KEY,
        webhook_id bigint NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        secret text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX webhook_previous_secrets_webhook_idx ON webhook_previous_secrets (webhook_id, expires_at)`);
    await q.query(`CREATE INDEX webhook_previous_secrets_expiry_idx ON webhook_previous_secrets (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_previous_secrets`);
    await q.query(`ALTER TABLE webhooks DROP COLUMN rate_limit_per_second`);
  }
}
