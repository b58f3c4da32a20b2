import type { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { expectError } from '../support/errors';
import type { HttpClient } from '../support/http';
import { createDevice, createKey, createTenant, Tenant } from '../support/tenant';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
interface Call {
  label: string;
  method: Method;
  path: string;
  body?: unknown;
}

/** Every project route, aimed at `projectId` and `deviceId`. */
function projectRoutes(projectId: number, deviceId: number): Call[] {
  const devices = `/projects/${projectId}/devices`;
  const device = `${devices}/${deviceId}`;
  return [
    { label: 'list devices', method: 'GET', path: devices },
    { label: 'list devices by tag', method: 'GET', path: `${devices}?tag=secret` },
    { label: 'create device', method: 'POST', path: devices, body: { external_id: 'planted', name: 'Planted', tags: ['planted'] } },
    { label: 'get device', method: 'GET', path: device },
    { label: 'delete device', method: 'DELETE', path: device },
    { label: 'replace tags', method: 'PATCH', path: `${device}/tags`, body: { tags: ['hijacked'] } },
    { label: 'add tags', method: 'POST', path: `${device}/tags`, body: { tags: ['hijacked'] } },
    { label: 'remove tags', method: 'DELETE', path: `${device}/tags`, body: { tags: ['secret'] } },
  ];
}

const send = (client: HttpClient, call: Call) => client.request(call.method, call.path, call.body);

describe('tenancy: one project’s key against another project', () => {
  let app: RunningApp;
  let db: Client;
  let a: Tenant;
  let b: Tenant;
  let aDevice: { id: number };
  let bDevices: { id: number }[];

  const snapshotOfB = async () => {
    const rows = (
      await db.query(
        `SELECT id::int AS id, project_id::int AS project_id, external_id, name, tags, created_at, last_seen_at
           FROM devices WHERE project_id = $1 ORDER BY id`,
        [b.projectId],
      )
    ).rows;
    const listed = await b.http.get(`/projects/${b.projectId}/devices`);
    expect(listed.status).toBe(200);
    return { rows, listed: listed.body };
  };

  beforeAll(async () => {
    app = await startApp();
    db = await connectDb();
    [a, b] = [await createTenant(app), await createTenant(app)];
    aDevice = await createDevice(a, { external_id: 'tenant-a-first', tags: ['mine'] });
    bDevices = [
      await createDevice(b, { external_id: 'tenant-b-first', tags: ['secret', 'zone-1'] }),
      await createDevice(b, { external_id: 'tenant-b-second', tags: ['secret'] }),
    ];
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  it('every route with B’s project id answers 404, exactly as for a project that does not exist', async () => {
    const missing = await a.http.get('/projects/999999999/devices');
    const missingError = expectError(missing, 404);
    for (const call of projectRoutes(b.projectId, bDevices[0].id)) {
      const res = await send(a.http, call);
      const error = expectError(res, 404);
      expect({ call: call.label, code: error.code, message: error.message, details: error.details }).toEqual({
        call: call.label,
        code: missingError.code,
        message: missingError.message,
        details: missingError.details,
      });
    }
  });

  it('every device route with A’s own project id but B’s device id answers 404, as for a missing device', async () => {
    const missingError = expectError(await a.http.get(`/projects/${a.projectId}/devices/999999999`), 404);
    for (const call of projectRoutes(a.projectId, bDevices[0].id).filter((c) => c.path.includes(`/devices/${bDevices[0].id}`))) {
      const error = expectError(await send(a.http, call), 404);
      expect({ call: call.label, code: error.code, message: error.message }).toEqual({
        call: call.label,
        code: missingError.code,
        message: missingError.message,
      });
    }
  });

  it('A’s listings never show B’s devices', async () => {
    const all = await a.http.get(`/projects/${a.projectId}/devices?limit=1000`);
    expect(all.body.map((d: { id: number }) => d.id)).toEqual([aDevice.id]);
    expect((await a.http.get(`/projects/${a.projectId}/devices?tag=secret`)).body).toEqual([]);
  });

  it('keys of every scope get 404 or 403 from B’s project, never B’s data', async () => {
    for (const scopes of [['read'], ['write'], ['ingest'], ['read', 'write']]) {
      const key = await createKey(app, a.projectId, scopes);
      const client = app.http.with({ 'X-API-Key': key.api_key });
      for (const call of projectRoutes(b.projectId, bDevices[1].id)) {
        const res = await send(client, call);
        expect([403, 404]).toContain(res.status);
        expectError(res, res.status);
        expect(JSON.stringify(res.body.error)).not.toContain('tenant-b');
      }
    }
  });

  it('a project id in the body does not move a device into another project', async () => {
    const res = await a.http.post(`/projects/${a.projectId}/devices`, { external_id: 'a-body', name: 'Body', project_id: b.projectId });
    expect(res.status).toBe(201);
    expect(res.body.project_id).toBe(a.projectId);
    const stored = await db.query('SELECT project_id::int AS project_id FROM devices WHERE external_id = $1', ['a-body']);
    expect(stored.rows).toEqual([{ project_id: a.projectId }]);
  });

  it('after the whole walk B’s devices are unchanged, seen through B’s key and in the database', async () => {
    const before = await snapshotOfB();
    expect(before.rows.map((r: { external_id: string }) => r.external_id)).toEqual(['tenant-b-first', 'tenant-b-second']);

    for (const call of [...projectRoutes(b.projectId, bDevices[0].id), ...projectRoutes(a.projectId, bDevices[0].id)]) {
      const res = await send(a.http, call);
      if (call.path.startsWith(`/projects/${a.projectId}/devices/`)) expect(res.status).toBe(404);
      if (call.path.startsWith(`/projects/${b.projectId}/`)) expect(res.status).toBe(404);
    }

    const after = await snapshotOfB();
    expect(after).toEqual(before);
    expect(after.rows.map((r: { tags: string[] }) => r.tags)).toEqual([['secret', 'zone-1'], ['secret']]);
    const planted = await db.query(`SELECT project_id::int AS project_id FROM devices WHERE external_id = 'planted'`);
    // The one create aimed at A's own project landed there; nothing was planted in B.
    expect(planted.rows).toEqual([{ project_id: a.projectId }]);
  });
});
