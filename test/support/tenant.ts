import { randomBytes } from 'node:crypto';
import type { HttpClient } from './http';
import type { RunningApp } from './app';

export interface Tenant {
  orgId: number;
  projectId: number;
  key: string;
  prefix: string;
  /** An HTTP client that sends this tenant's key. */
  http: HttpClient;
}

const uniq = () => randomBytes(4).toString('hex');

/** A fresh org, project and all-scopes key made through the admin API, as an admin would. */
export async function createTenant(app: RunningApp, scopes?: string[]): Promise<Tenant> {
  const org = await app.admin.post('/orgs', { name: `org-${uniq()}` });
  if (org.status !== 201) throw new Error(`create org: ${org.status} ${org.text}`);
  const project = await app.admin.post(`/orgs/${org.body.id}/projects`, { name: `project-${uniq()}` });
  if (project.status !== 201) throw new Error(`create project: ${project.status} ${project.text}`);
  const key = await createKey(app, project.body.id, scopes);
  return {
    orgId: org.body.id,
    projectId: project.body.id,
    key: key.api_key,
    prefix: key.prefix,
    http: app.http.with({ 'X-API-Key': key.api_key }),
  };
}

export async function createKey(app: RunningApp, projectId: number, scopes?: string[]): Promise<{ api_key: string; prefix: string }> {
  const res = await app.admin.post(`/projects/${projectId}/api-keys`, scopes ? { name: 'test', scopes } : { name: 'test' });
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${res.text}`);
  return res.body;
}

export async function createDevice(tenant: Tenant, body: { external_id?: string; name?: string; tags?: string[] } = {}) {
  const res = await tenant.http.post(`/projects/${tenant.projectId}/devices`, {
    external_id: body.external_id ?? `dev-${uniq()}`,
    name: body.name ?? 'Device',
    ...(body.tags ? { tags: body.tags } : {}),
  });
  if (res.status !== 201) throw new Error(`create device: ${res.status} ${res.text}`);
  return res.body as { id: number; external_id: string; tags: string[] };
}
