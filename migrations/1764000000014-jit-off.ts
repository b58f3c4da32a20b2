import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Turns Postgres's JIT compilation off for this database's sessions (docs/ingest.md, "JIT").
 * Its cost threshold is met by the planner's estimates, not by the work: the reading writer's
 * statement for a flush of 20,000 readings into hours that have rollups was estimated past
 * jit_above_cost and spent 1.3 s of its 1.6 s compiling, against 0.3 s in all without JIT. Every
 * statement of the platform is short; none gained from it. Set on the database (not per
 * connection) so it holds behind a connection pooler too. A role that may not alter the
 * database leaves the setting as it was, with a notice.
 */
export class JitOff1764000000014 implements MigrationInterface {
  name = 'JitOff1764000000014';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'jit left as it was: % (docs/ingest.md, "JIT")', SQLERRM;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        EXECUTE format('ALTER DATABASE %I RESET jit', current_database());
      EXCEPTION WHEN insufficient_privilege THEN
        NULL;
      END $$`);
  }
}
