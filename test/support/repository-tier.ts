import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildConfig } from '../../src/config/app-config';
import { parseEnv } from '../../src/config/env.schema';
import { createDataSource } from '../../src/core/database/data-source';
import type { TenantScope } from '../../src/core/tenancy/tenant-scope';

/**
 * The repository tier's DataSource: the app's own definition (src/core/database/data-source.ts)
 * on the run's migrated throwaway database (DATABASE_URL, set by the global setup).
 */
export async function openDataSource(): Promise<DataSource> {
  return createDataSource(buildConfig(parseEnv(process.env))).initialize();
}

export interface RepoTenant extends TenantScope {
  /** Devices of the project, by the external ids given. */
  devices: number[];
}

/** A fresh org and project with `deviceCount` devices, written directly (no API in this tier). */
export async function makeTenant(ds: DataSource, deviceCount = 1): Promise<RepoTenant> {
  const tag = randomBytes(4).toString('hex');
  const [org] = await ds.query(`INSERT INTO orgs (name) VALUES ($1) RETURNING id`, [`repo-org-${tag}`]);
  const [project] = await ds.query(`INSERT INTO projects (org_id, name) VALUES ($1, $2) RETURNING id`, [org.id, `repo-project-${tag}`]);
  const devices: { id: string }[] = await ds.query(
    `INSERT INTO devices (project_id, external_id, name)
     SELECT $1, 'dev-' || n, 'device ' || n FROM generate_series(1, $2::int) AS n RETURNING id`,
    [project.id, deviceCount],
  );
  return { orgId: Number(org.id), projectId: Number(project.id), devices: devices.map((d) => Number(d.id)) };
}

/** A threshold rule of the tenant's project (threshold rules start no timers of their own). */
export async function makeRule(ds: DataSource, t: TenantScope, fields: { forSeconds?: number } = {}): Promise<number> {
  const [rule] = await ds.query(
    `INSERT INTO rules (project_id, name, metric, operator, threshold, window_n, required_k, scope, for_seconds)
     VALUES ($1, 'hot', 'temp', '>', 30, 1, 1, 'ALL', $2) RETURNING id`,
    [t.projectId, fields.forSeconds ?? 0],
  );
  return Number(rule.id);
}
