import { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1764000000000 implements MigrationInterface {
  name = 'Foundation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orgs (
        id bigserial PRIMARY KEY,
        name varchar(200) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE projects (
        id bigserial PRIMARY KEY,
        org_id bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        name varchar(200) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX projects_org_id_idx ON projects (org_id, id)`);
    await q.query(`
      CREATE TABLE api_keys (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        prefix varchar(8) NOT NULL,
        key_hash varchar(100) NOT NULL,
        name varchar(200),
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
        CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY['ingest','read','write']::text[] AND cardinality(scopes) > 0)
      )`);
    await q.query(`CREATE INDEX api_keys_project_id_idx ON api_keys (project_id, id)`);
    await q.query(`
      CREATE TABLE devices (
        id bigserial PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        external_id varchar(200) NOT NULL,
        name varchar(200) NOT NULL,
        tags text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz,
        CONSTRAINT devices_project_external_id_key UNIQUE (project_id, external_id)
      )`);
    await q.query(`CREATE INDEX devices_project_id_idx ON devices (project_id, id)`);
    await q.query(`CREATE INDEX devices_tags_idx ON devices USING gin (tags)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE devices`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE projects`);
    await q.query(`DROP TABLE orgs`);
  }
}
