import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Devices whose readings are stored but whose evaluation could not be queued (Redis away when
 * the api wrote a batch itself). A sweeper in the worker queues their evaluation once Redis
 * answers and removes the mark; one row per device, so a burst of batches is one mark.
 */
export class EvaluationMarks1764000000007 implements MigrationInterface {
  name = 'EvaluationMarks1764000000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE evaluation_marks (
        device_id bigint PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        project_id bigint NOT NULL,
        marked_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE evaluation_marks`);
  }
}
