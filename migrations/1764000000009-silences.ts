import { MigrationInterface, QueryRunner } from 'typeorm';

export class Silences1764000000009 implements MigrationInterface {
  name = 'Silences1764000000009';

  async up(q: QueryRunner): Promise<void> {
    // A silence's state (pending, active, expired) is computed when read, from these times and
    // the recurrence; DELETE only moves ends_at to now, so an ended silence is kept.
    await q.query(`
      CREATE TABLE silences (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        matchers jsonb NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz,
        recurrence jsonb,
        comment text,
        created_by varchar(200),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT silences_one_off_has_end CHECK (recurrence IS NOT NULL OR ends_at IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX silences_project_idx ON silences (project_id, id)`);
    // What the mute cache and the metrics read: the silences not yet over.
    await q.query(`CREATE INDEX silences_live_idx ON silences (project_id, ends_at)`);
    // The alert event a silence held back and still owes subscribers, one per alert: delivered
    // once no silence matches the alert's pair any more, in the transaction that deletes it.
    await q.query(`
      CREATE TABLE muted_notifications (
        alert_id bigint PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        event varchar(20) NOT NULL CHECK (event IN ('alert.triggered', 'alert.resolved')),
        recheck_at timestamptz NOT NULL DEFAULT now(),
        muted_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX muted_notifications_due_idx ON muted_notifications (recheck_at)`);
    await q.query(`CREATE INDEX muted_notifications_project_idx ON muted_notifications (project_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE muted_notifications`);
    await q.query(`DROP TABLE silences`);
  }
}
