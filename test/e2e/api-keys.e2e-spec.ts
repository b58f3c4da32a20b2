import * as bcrypt from 'bcrypt';
import type { Client } from 'pg';
import { RunningApp, scrapeMetrics, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { expectError, fieldsOf } from '../support/errors';
import { createKey, createTenant, Tenant } from '../support/tenant';

const KEY_FORMAT = /^[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/;

describe('project API keys', () => {
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

  const devicesPath = () => `/projects/${tenant.projectId}/devices`;
  const keysPath = (projectId = tenant.projectId) => `/projects/${projectId}/api-keys`;
  const withKey = (key: string) => app.http.with({ 'X-API-Key': key });
  const storedHash = async (prefix: string): Promise<string> =>
    (await db.query('SELECT key_hash FROM api_keys WHERE prefix = $1', [prefix])).rows[0].key_hash;

  describe('generation', () => {
    it('returns the key once, in the documented format, with all three scopes by default', async () => {
      const res = await app.admin.post(keysPath(), { name: 'collector' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual(
        expect.objectContaining({
          api_key: expect.stringMatching(KEY_FORMAT),
          prefix: expect.stringMatching(/^[0-9a-f]{8}$/),
          project_id: tenant.projectId,
          scopes: ['ingest', 'read', 'write'],
        }),
      );
      expect(res.body.api_key.split('.')[0]).toBe(res.body.prefix);
    });

    it('creates a key without a body and never hands out the same key twice', async () => {
      // A bare POST (no body, no content-type) and an empty object.
      const a = await app.admin.request('POST', keysPath());
      const b = await app.admin.post(keysPath(), {});
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.api_key).not.toBe(b.body.api_key);
      expect(a.body.prefix).not.toBe(b.body.prefix);
    });

    it('keeps only the requested scopes', async () => {
      const res = await app.admin.post(keysPath(), { scopes: ['ingest'] });
      expect(res.status).toBe(201);
      expect(res.body.scopes).toEqual(['ingest']);
    });

    it('refuses an unknown scope with a 422 naming the field', async () => {
      const res = await app.admin.post(keysPath(), { scopes: ['ingest', 'admin'] });
      const error = expectError(res, 422);
      expect(fieldsOf(error)).toEqual(['scopes']);
    });

    it('lists the project keys without any secret', async () => {
      const created = await createKey(app, tenant.projectId);
      const res = await app.admin.get(keysPath());
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      const listed = res.body.find((k: { prefix: string }) => k.prefix === created.prefix);
      expect(listed).toEqual(
        expect.objectContaining({ prefix: created.prefix, project_id: tenant.projectId, scopes: ['ingest', 'read', 'write'] }),
      );
      for (const item of res.body) expect(item).not.toHaveProperty('api_key');
      expect(res.text).not.toContain(created.api_key.split('.')[1]);
    });
  });

  describe('storage', () => {
    it('stores a salted bcrypt hash (cost 10) that verifies the key, different for every key', async () => {
      const a = await createKey(app, tenant.projectId);
      const b = await createKey(app, tenant.projectId);
      const [hashA, hashB] = [await storedHash(a.prefix), await storedHash(b.prefix)];
      expect(hashA).toMatch(/^\$2[aby]\$10\$/);
      expect(hashA).not.toBe(hashB);
      expect(await bcrypt.compare(a.api_key, hashA)).toBe(true);
      expect(await bcrypt.compare(b.api_key, hashB)).toBe(true);
      expect(await bcrypt.compare(b.api_key, hashA)).toBe(false);
    });

    it('keeps the raw key and its secret out of every table', async () => {
      const key = await createKey(app, tenant.projectId);
      // Used once, so a verification that wrote anything down would have done so by now.
      expect((await withKey(key.api_key).get(devicesPath())).status).toBe(200);
      const secret = key.api_key.split('.')[1];

      const columns = (
        await db.query(
          `SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'character', 'ARRAY', 'json', 'jsonb')`,
        )
      ).rows as { table_name: string; column_name: string }[];
      expect(columns).toEqual(expect.arrayContaining([{ table_name: 'api_keys', column_name: 'key_hash' }]));

      let valuesSeen = 0;
      for (const { table_name, column_name } of columns) {
        const { rows } = await db.query(`SELECT "${column_name}"::text AS v FROM "${table_name}" WHERE "${column_name}" IS NOT NULL`);
        for (const { v } of rows as { v: string }[]) {
          valuesSeen++;
          if (v.includes(secret) || v.includes(key.api_key)) {
            throw new Error(`the API key secret is stored in ${table_name}.${column_name}`);
          }
        }
      }
      expect(valuesSeen).toBeGreaterThan(0);
    });
  });

  describe('authentication', () => {
    it('accepts the key in X-API-Key and as Authorization: Bearer', async () => {
      expect((await withKey(tenant.key).get(devicesPath())).status).toBe(200);
      const bearer = await app.http.get(devicesPath(), { Authorization: `Bearer ${tenant.key}` });
      expect(bearer.status).toBe(200);
      expect(Array.isArray(bearer.body)).toBe(true);
    });

    it('answers 401 when no key is sent', async () => {
      expectError(await app.http.get(devicesPath()), 401);
      expectError(await app.http.get(devicesPath(), { Authorization: 'Basic dXNlcjpwYXNz' }), 401);
    });

    it('answers 403 to a right prefix with a wrong secret', async () => {
      const [prefix, secret] = tenant.key.split('.');
      const wrongSecret = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1);
      expectError(await withKey(`${prefix}.${wrongSecret}`).get(devicesPath()), 403);
      expectError(await app.http.get(devicesPath(), { Authorization: `Bearer ${prefix}.${wrongSecret}` }), 403);
      // The right key still works after wrong attempts with its prefix.
      expect((await withKey(tenant.key).get(devicesPath())).status).toBe(200);
    });

    it('answers 403 to unknown and malformed keys', async () => {
      const unknown = `00000000.${'A'.repeat(43)}`;
      for (const key of [unknown, 'not-a-key', tenant.key.slice(0, -1), `${tenant.key}x`, tenant.key.toUpperCase()]) {
        expectError(await withKey(key).get(devicesPath()), 403);
      }
      expectError(await app.http.get(devicesPath(), { Authorization: 'Bearer not-a-key' }), 403);
    });

    it('does not accept the admin token as a project key', async () => {
      const res = await app.http.get(devicesPath(), { 'X-Admin-Token': process.env.ADMIN_TOKEN!, 'X-API-Key': process.env.ADMIN_TOKEN! });
      expectError(res, 403);
    });
  });

  describe('revocation', () => {
    it('refuses a revoked key at once and marks it revoked in the listing', async () => {
      const key = await createKey(app, tenant.projectId);
      expect((await withKey(key.api_key).get(devicesPath())).status).toBe(200);

      const revoke = await app.admin.delete(`${keysPath()}/${key.prefix}`);
      expect(revoke.status).toBe(204);
      expect(revoke.text).toBe('');

      expectError(await withKey(key.api_key).get(devicesPath()), 403);
      expectError(await app.http.get(devicesPath(), { Authorization: `Bearer ${key.api_key}` }), 403);
      const listed = (await app.admin.get(keysPath())).body.find((k: { prefix: string }) => k.prefix === key.prefix);
      expect(listed.revoked_at).toEqual(expect.stringMatching(/Z$/));
      // Other keys of the project are untouched.
      expect((await withKey(tenant.key).get(devicesPath())).status).toBe(200);
    });

    it('answers 404 for an unknown prefix, an already revoked key and another project’s key', async () => {
      expectError(await app.admin.delete(`${keysPath()}/00000000`), 404);

      const key = await createKey(app, tenant.projectId);
      expect((await app.admin.delete(`${keysPath()}/${key.prefix}`)).status).toBe(204);
      expectError(await app.admin.delete(`${keysPath()}/${key.prefix}`), 404);

      const other = await createTenant(app);
      expectError(await app.admin.delete(`${keysPath()}/${other.prefix}`), 404);
      expect((await other.http.get(`/projects/${other.projectId}/devices`)).status).toBe(200);
    });

    it('answers 404 when the project does not exist', async () => {
      expectError(await app.admin.delete(`${keysPath(999_999_999)}/${tenant.prefix}`), 404);
      expectError(await app.admin.post(keysPath(999_999_999), {}), 404);
      expectError(await app.admin.get(keysPath(999_999_999)), 404);
      expect((await withKey(tenant.key).get(devicesPath())).status).toBe(200);
    });
  });

  describe('scopes', () => {
    const device = () => ({ external_id: `scoped-${Math.random().toString(36).slice(2)}`, name: 'Scoped' });

    it('an ingest-only key can neither read nor change devices', async () => {
      const key = await createKey(app, tenant.projectId, ['ingest']);
      expectError(await withKey(key.api_key).get(devicesPath()), 403, 'AUTH.SCOPE_MISSING');
      const body = device();
      expectError(await withKey(key.api_key).post(devicesPath(), body), 403, 'AUTH.SCOPE_MISSING');
      const stored = await db.query('SELECT 1 FROM devices WHERE external_id = $1', [body.external_id]);
      expect(stored.rowCount).toBe(0);
    });

    it('a read key can list and get devices but not create or delete them', async () => {
      const key = await createKey(app, tenant.projectId, ['read']);
      const created = await tenant.http.post(devicesPath(), device());
      expect(created.status).toBe(201);

      expect((await withKey(key.api_key).get(devicesPath())).status).toBe(200);
      expect((await withKey(key.api_key).get(`${devicesPath()}/${created.body.id}`)).status).toBe(200);
      expectError(await withKey(key.api_key).post(devicesPath(), device()), 403, 'AUTH.SCOPE_MISSING');
      expectError(await withKey(key.api_key).delete(`${devicesPath()}/${created.body.id}`), 403, 'AUTH.SCOPE_MISSING');
      expectError(await withKey(key.api_key).patch(`${devicesPath()}/${created.body.id}/tags`, { tags: ['x'] }), 403);
      expect((await tenant.http.get(`${devicesPath()}/${created.body.id}`)).body.tags).toEqual([]);
    });

    it('a write key can change devices but not read them', async () => {
      const key = await createKey(app, tenant.projectId, ['write']);
      const created = await withKey(key.api_key).post(devicesPath(), device());
      expect(created.status).toBe(201);
      expectError(await withKey(key.api_key).get(devicesPath()), 403, 'AUTH.SCOPE_MISSING');
      expectError(await withKey(key.api_key).get(`${devicesPath()}/${created.body.id}`), 403, 'AUTH.SCOPE_MISSING');
    });
  });
});

describe('project API keys: checked again after their cache TTL', () => {
  const TTL_SECONDS = 1;
  let app: RunningApp;
  let db: Client;
  let tenant: Tenant;

  beforeAll(async () => {
    app = await startApp({ API_KEY_CACHE_TTL_SECONDS: String(TTL_SECONDS) });
    db = await connectDb();
    tenant = await createTenant(app);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  /** watchpost_api_key_checks_total by check (bcrypt, row), from this process's /metrics. */
  const checks = async (): Promise<{ bcrypt: number; row: number }> => {
    const metric = await scrapeMetrics(app);
    const of = (check: string) => metric(`watchpost_api_key_checks_total{check="${check}"}`, 0);
    return { bcrypt: of('bcrypt'), row: of('row') };
  };
  const devicesPath = () => `/projects/${tenant.projectId}/devices`;

  it('a key in steady use is compared with bcrypt once, then only its row is re-read, and it keeps working', async () => {
    const key = await createKey(app, tenant.projectId);
    const before = await checks();
    const until = Date.now() + 3.5 * TTL_SECONDS * 1000;
    let requests = 0;
    while (Date.now() < until) {
      expect((await app.http.with({ 'X-API-Key': key.api_key }).get(devicesPath())).status).toBe(200);
      requests++;
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await checks();
    expect(requests).toBeGreaterThan(20);
    // One bcrypt for this key (the tenant's key is not used here); its row re-read at least once per TTL since.
    expect(after.bcrypt - before.bcrypt).toBe(1);
    expect(after.row - before.row).toBeGreaterThanOrEqual(3);
  });

  it('a key whose stored hash was replaced is compared with bcrypt again, and refused', async () => {
    const key = await createKey(app, tenant.projectId);
    const onKey = app.http.with({ 'X-API-Key': key.api_key });
    expect((await onKey.get(devicesPath())).status).toBe(200);
    const other = await bcrypt.hash('not the key', 4);
    await db.query('UPDATE api_keys SET key_hash = $1 WHERE prefix = $2', [other, key.prefix]);
    const before = await checks();
    await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 + 100));
    expect((await onKey.get(devicesPath())).status).toBe(403);
    expect((await checks()).bcrypt - before.bcrypt).toBe(1);
  });
});
