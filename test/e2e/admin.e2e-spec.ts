import type { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { expectError, fieldsOf } from '../support/errors';
import type { HttpClient, HttpResponse } from '../support/http';
import { createKey, createTenant, Tenant } from '../support/tenant';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Follows X-Next-Cursor from the first page to the last, returning every page. */
async function allPages(client: HttpClient, path: string, limit: number): Promise<HttpResponse[]> {
  const pages: HttpResponse[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res: HttpResponse = await client.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status).toBe(200);
    pages.push(res);
    cursor = res.headers.get('x-next-cursor');
    if (pages.length > 10_000) throw new Error('pagination does not end');
  } while (cursor);
  return pages;
}

describe('admin API', () => {
  let app: RunningApp;
  let db: Client;
  let tenant: Tenant;

  beforeAll(async () => {
    app = await startApp();
    db = await connectDb();
    tenant = await createTenant(app);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  describe('authentication', () => {
    type Call = { label: string; method: 'GET' | 'POST' | 'DELETE'; path: () => string; body?: unknown };
    const routes: Call[] = [
      { label: 'POST /orgs', method: 'POST', path: () => '/orgs', body: { name: 'intruder org' } },
      { label: 'GET /orgs', method: 'GET', path: () => '/orgs' },
      { label: 'POST /orgs/{id}/projects', method: 'POST', path: () => `/orgs/${tenant.orgId}/projects`, body: { name: 'intruder project' } },
      { label: 'GET /orgs/{id}/projects', method: 'GET', path: () => `/orgs/${tenant.orgId}/projects` },
      { label: 'POST /projects/{id}/api-keys', method: 'POST', path: () => `/projects/${tenant.projectId}/api-keys`, body: { name: 'intruder key' } },
      { label: 'GET /projects/{id}/api-keys', method: 'GET', path: () => `/projects/${tenant.projectId}/api-keys` },
      { label: 'DELETE /projects/{id}/api-keys/{prefix}', method: 'DELETE', path: () => `/projects/${tenant.projectId}/api-keys/${tenant.prefix}` },
    ];
    const credentials: [string, () => Record<string, string>][] = [
      ['no token', () => ({})],
      ['a wrong token', () => ({ 'X-Admin-Token': 'wrong-admin-token-0123456789' })],
      ['an empty token', () => ({ 'X-Admin-Token': '' })],
      ['the token with a character missing', () => ({ 'X-Admin-Token': process.env.ADMIN_TOKEN!.slice(0, -1) })],
      ['a project API key', () => ({ 'X-API-Key': tenant.key })],
      ['a project API key as bearer', () => ({ Authorization: `Bearer ${tenant.key}` })],
      ['a project API key in place of the token', () => ({ 'X-Admin-Token': tenant.key })],
    ];

    for (const route of routes) {
      it(`${route.label} answers 401 without the admin token, to a wrong one and to a project key`, async () => {
        for (const [, headers] of credentials) {
          const res = await app.http.request(route.method, route.path(), route.body, headers());
          expectError(res, 401);
        }
      });
    }

    it('refused calls change nothing', async () => {
      const counts = async () =>
        (
          await db.query(
            `SELECT (SELECT count(*) FROM orgs) AS orgs, (SELECT count(*) FROM projects) AS projects,
                    (SELECT count(*) FROM api_keys) AS keys, (SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL) AS revoked`,
          )
        ).rows[0];
      const before = await counts();
      for (const route of routes.filter((r) => r.method !== 'GET')) {
        for (const [, headers] of credentials) {
          expect((await app.http.request(route.method, route.path(), route.body, headers())).status).toBe(401);
        }
      }
      expect(await counts()).toEqual(before);
      expect((await tenant.http.get(`/projects/${tenant.projectId}/devices`)).status).toBe(200);
    });
  });

  describe('orgs', () => {
    it('creates an org with the documented fields', async () => {
      const res = await app.admin.post('/orgs', { name: '  Acme Sensors  ' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.any(Number), name: 'Acme Sensors', created_at: expect.stringMatching(ISO_UTC) });
      const stored = await db.query('SELECT name FROM orgs WHERE id = $1', [res.body.id]);
      expect(stored.rows).toEqual([{ name: 'Acme Sensors' }]);
    });

    it('refuses an org without a valid name', async () => {
      expect(fieldsOf(expectError(await app.admin.post('/orgs', {}), 422))).toEqual(['name']);
      expectError(await app.admin.post('/orgs', { name: '   ' }), 422);
      expectError(await app.admin.post('/orgs', { name: 'x'.repeat(201) }), 422);
      expect((await app.admin.post('/orgs', { name: 'x'.repeat(200) })).status).toBe(201);
    });

    it('lists orgs newest first and pages through all of them with X-Next-Cursor', async () => {
      const made: number[] = [];
      for (let i = 0; i < 5; i++) made.push((await app.admin.post('/orgs', { name: `paged-org-${i}` })).body.id);

      const first = await app.admin.get('/orgs?limit=2');
      expect(first.body.map((o: { id: number }) => o.id)).toEqual([made[4], made[3]]);
      expect(first.headers.get('x-next-cursor')).toEqual(expect.any(String));

      const pages = await allPages(app.admin, '/orgs', 2);
      const ids = pages.flatMap((p) => p.body.map((o: { id: number }) => o.id));
      const total = Number((await db.query('SELECT count(*) FROM orgs')).rows[0].count);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      expect(ids).toEqual([...ids].sort((x, y) => y - x));
      expect(ids.slice(0, 5)).toEqual([...made].reverse());
      for (const page of pages.slice(0, -1)) expect(page.body).toHaveLength(2);
      expect(pages[pages.length - 1].headers.get('x-next-cursor')).toBeNull();
      for (const org of pages[0].body) expect(org).toEqual({ id: expect.any(Number), name: expect.any(String), created_at: expect.stringMatching(ISO_UTC) });
    });

    it('refuses a bad limit or cursor with a 422 naming it', async () => {
      for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'limit=1.5']) {
        expect(fieldsOf(expectError(await app.admin.get(`/orgs?${query}`), 422))).toEqual(['limit']);
      }
      expect(fieldsOf(expectError(await app.admin.get('/orgs?cursor=bogus'), 422))).toEqual(['cursor']);
      expect((await app.admin.get('/orgs?limit=1000')).status).toBe(200);
    });
  });

  describe('projects', () => {
    it('creates a project in an org with the documented fields', async () => {
      const res = await app.admin.post(`/orgs/${tenant.orgId}/projects`, { name: 'Greenhouse' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        org_id: tenant.orgId,
        name: 'Greenhouse',
        created_at: expect.stringMatching(ISO_UTC),
      });
    });

    it('answers 404 for an unknown org', async () => {
      expectError(await app.admin.post('/orgs/999999999/projects', { name: 'Nowhere' }), 404, 'ORG.NOT_FOUND');
      expectError(await app.admin.get('/orgs/999999999/projects'), 404, 'ORG.NOT_FOUND');
      const stored = await db.query(`SELECT 1 FROM projects WHERE name = 'Nowhere'`);
      expect(stored.rowCount).toBe(0);
    });

    it('answers 422 naming the org id when it is not an integer', async () => {
      expect(fieldsOf(expectError(await app.admin.get('/orgs/abc/projects'), 422))).toEqual(['orgId']);
      expectError(await app.admin.post('/orgs/0/projects', { name: 'zero' }), 422);
    });

    it('lists only the org’s projects, newest first, paging through all of them', async () => {
      const org = (await app.admin.post('/orgs', { name: 'paged projects' })).body.id;
      const other = (await app.admin.post('/orgs', { name: 'other org' })).body.id;
      const made: number[] = [];
      for (let i = 0; i < 5; i++) {
        made.push((await app.admin.post(`/orgs/${org}/projects`, { name: `p${i}` })).body.id);
        await app.admin.post(`/orgs/${other}/projects`, { name: `other-${i}` });
      }

      const pages = await allPages(app.admin, `/orgs/${org}/projects`, 2);
      expect(pages.map((p) => p.body.length)).toEqual([2, 2, 1]);
      expect(pages.flatMap((p) => p.body.map((x: { id: number }) => x.id))).toEqual([...made].reverse());
      for (const page of pages) for (const p of page.body) expect(p.org_id).toBe(org);

      const all = await app.admin.get(`/orgs/${org}/projects`);
      expect(all.body.map((x: { name: string }) => x.name)).toEqual(['p4', 'p3', 'p2', 'p1', 'p0']);
      expect(all.headers.get('x-next-cursor')).toBeNull();
    });
  });

  describe('api keys', () => {
    it('pages through a project’s keys newest first', async () => {
      const t = await createTenant(app);
      const prefixes = [t.prefix];
      for (let i = 0; i < 3; i++) prefixes.push((await createKey(app, t.projectId)).prefix);
      const pages = await allPages(app.admin, `/projects/${t.projectId}/api-keys`, 3);
      expect(pages.map((p) => p.body.length)).toEqual([3, 1]);
      expect(pages.flatMap((p) => p.body.map((k: { prefix: string }) => k.prefix))).toEqual([...prefixes].reverse());
    });
  });
});
