import type { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { expectError, fieldsOf } from '../support/errors';
import { createDevice, createTenant, Tenant } from '../support/tenant';

const MAX_BODY_BYTES = 2048;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('bad input', () => {
  let app: RunningApp;
  let db: Client;
  let tenant: Tenant;
  let n = 0;

  beforeAll(async () => {
    app = await startApp({ MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
    db = await connectDb();
    tenant = await createTenant(app);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  const devices = () => `/projects/${tenant.projectId}/devices`;
  const validDevice = () => ({ external_id: `bad-input-${++n}`, name: 'Valid' });
  const deviceCount = async () => Number((await db.query('SELECT count(*) FROM devices WHERE project_id = $1', [tenant.projectId])).rows[0].count);

  describe('malformed bodies', () => {
    it('answers 400 with a JSON error to malformed JSON, on project and admin routes', async () => {
      for (const raw of ['{"external_id": "x", "name": ', '{external_id: "x"}', '{"a": 1}}', "{'a': 1}"]) {
        const error = expectError(await tenant.http.post(devices(), raw), 400, 'REQUEST.MALFORMED_JSON');
        expect(error.message).toMatch(/JSON/);
      }
      expectError(await app.admin.post('/orgs', '{"name": "broken'), 400, 'REQUEST.MALFORMED_JSON');
      const d = await createDevice(tenant, { tags: ['kept'] });
      expectError(await tenant.http.patch(`${devices()}/${d.id}/tags`, '{"tags": ['), 400, 'REQUEST.MALFORMED_JSON');
      expect((await tenant.http.get(`${devices()}/${d.id}`)).body.tags).toEqual(['kept']);
    });

    it('refuses a body that is not a JSON object', async () => {
      const before = await deviceCount();
      expect(fieldsOf(expectError(await tenant.http.post(devices(), [validDevice()]), 422))).toEqual(['body']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), '[]'), 422))).toEqual(['body']);
      // Bare JSON values are not accepted as a request body at all.
      for (const raw of ['"a string"', '42', 'null', 'true']) {
        expectError(await tenant.http.post(devices(), raw), 400, 'REQUEST.MALFORMED_JSON');
      }
      expect(await deviceCount()).toBe(before);
    });

    it('refuses a body sent without a JSON content type', async () => {
      const res = await tenant.http.post(devices(), JSON.stringify(validDevice()), { 'content-type': 'text/plain' });
      expect(fieldsOf(expectError(res, 422))).toEqual(['body']);
    });

    it('answers 413 with a JSON error to a body over MAX_BODY_BYTES, and accepts one under it', async () => {
      const before = await deviceCount();
      const big = { ...validDevice(), padding: 'x'.repeat(MAX_BODY_BYTES) };
      const error = expectError(await tenant.http.post(devices(), big), 413, 'REQUEST.TOO_LARGE');
      expect(error.message).toMatch(/larger/);
      expectError(await app.admin.post('/orgs', { name: 'big', padding: 'x'.repeat(MAX_BODY_BYTES) }), 413);
      expect(await deviceCount()).toBe(before);

      const small = { ...validDevice(), padding: 'x'.repeat(MAX_BODY_BYTES - 200) };
      expect(JSON.stringify(small).length).toBeLessThan(MAX_BODY_BYTES);
      expect((await tenant.http.post(devices(), small)).status).toBe(201);
    });
  });

  describe('schema violations: 422 naming every offending field', () => {
    it('names each missing required field', async () => {
      expect(fieldsOf(expectError(await tenant.http.post(devices(), {}), 422, 'REQUEST.VALIDATION_FAILED'))).toEqual(['external_id', 'name']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { name: 'only a name' }), 422))).toEqual(['external_id']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { external_id: '   ', name: '' }), 422))).toEqual(['external_id', 'name']);
    });

    it('names each field of the wrong type', async () => {
      const before = await deviceCount();
      const error = expectError(await tenant.http.post(devices(), { external_id: 5, name: true, tags: 'x' }), 422);
      expect(fieldsOf(error)).toEqual(['external_id', 'name', 'tags']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { ...validDevice(), tags: ['ok', 7] }), 422))).toEqual(['tags']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { ...validDevice(), name: { first: 'x' } }), 422))).toEqual(['name']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { ...validDevice(), tags: [['nested']] }), 422))).toEqual(['tags']);
      expect(await deviceCount()).toBe(before);
    });

    it('refuses strings over their length limits and accepts them at the limit', async () => {
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { ...validDevice(), name: 'n'.repeat(201) }), 422))).toEqual(['name']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { external_id: 'e'.repeat(201), name: 'x' }), 422))).toEqual(['external_id']);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { ...validDevice(), tags: ['ok', 't'.repeat(65)] }), 422))).toEqual(['tags']);
      const both = expectError(await tenant.http.post(devices(), { external_id: 'e'.repeat(201), name: 'n'.repeat(201), tags: ['t'.repeat(65)] }), 422);
      expect(fieldsOf(both)).toEqual(['external_id', 'name', 'tags']);
      expect(fieldsOf(expectError(await app.admin.post('/orgs', { name: 'o'.repeat(201) }), 422))).toEqual(['name']);

      const atLimit = await tenant.http.post(devices(), { external_id: `${++n}`.padEnd(200, 'e'), name: 'n'.repeat(200), tags: ['t'.repeat(64)] });
      expect(atLimit.status).toBe(201);
      expect(atLimit.body.name).toHaveLength(200);
      expect(atLimit.body.tags).toEqual(['t'.repeat(64)]);
    });

    it('refuses more than 100 tags', async () => {
      const tags = Array.from({ length: 101 }, (_, i) => `t${i}`);
      expect(fieldsOf(expectError(await tenant.http.post(devices(), { ...validDevice(), tags }), 422))).toEqual(['tags']);
      expect((await tenant.http.post(devices(), { ...validDevice(), tags: tags.slice(0, 100) })).status).toBe(201);
    });

    it('ignores unknown fields', async () => {
      const body = { ...validDevice(), colour: 'red', id: 987654321, project_id: 1, created_at: '1999-01-01T00:00:00Z', last_seen_at: '1999-01-01T00:00:00Z' };
      const res = await tenant.http.post(devices(), body);
      expect(res.status).toBe(201);
      expect(res.body).not.toHaveProperty('colour');
      expect(res.body.id).not.toBe(987654321);
      expect(res.body.project_id).toBe(tenant.projectId);
      expect(res.body.created_at).not.toMatch(/^1999/);
      expect(res.body.last_seen_at).toBeNull();
    });

    it('ignores a __proto__ key without polluting anything', async () => {
      const raw = `{"external_id": "proto-${++n}", "name": "Proto", "__proto__": {"tags": ["injected"], "isAdmin": true}}`;
      const res = await tenant.http.post(devices(), raw);
      expect(res.status).toBe(201);
      expect(res.body.tags).toEqual([]);
      // Had it reached Object.prototype, every later device would carry the injected tags.
      const later = await tenant.http.post(devices(), validDevice());
      expect(later.status).toBe(201);
      expect(later.body.tags).toEqual([]);
    });

    it('names a bad query parameter', async () => {
      expect(fieldsOf(expectError(await tenant.http.get(`${devices()}?limit=ten`), 422))).toEqual(['limit']);
      expect(fieldsOf(expectError(await tenant.http.get(`${devices()}?limit=5000`), 422))).toEqual(['limit']);
      expect(fieldsOf(expectError(await tenant.http.get(`${devices()}?cursor=not-a-cursor`), 422))).toEqual(['cursor']);
      expect(fieldsOf(expectError(await tenant.http.get(`${devices()}?tag=a&tag=b`), 422))).toEqual(['tag']);
    });
  });

  describe('path ids', () => {
    it('answers 422 naming a device id that is not a positive integer', async () => {
      for (const id of ['abc', '0', '-1', '1.5', '1e3', '0x10', '0b1', '+7', '12345678901234567890', '%20']) {
        const error = expectError(await tenant.http.get(`${devices()}/${id}`), 422);
        expect(fieldsOf(error)).toEqual(['deviceId']);
      }
      expect(fieldsOf(expectError(await tenant.http.delete(`${devices()}/abc`), 422))).toEqual(['deviceId']);
      expect(fieldsOf(expectError(await tenant.http.patch(`${devices()}/abc/tags`, { tags: [] }), 422))).toEqual(['deviceId']);
    });

    it('answers 404 to a project id that is not an integer, as to any project not the key’s', async () => {
      for (const id of ['abc', '0', `${tenant.projectId}.0`, `0${tenant.projectId}`]) {
        expectError(await tenant.http.get(`/projects/${id}/devices`), 404, 'PROJECT.NOT_FOUND');
      }
    });

    it('answers 422 naming an admin route’s non-integer ids', async () => {
      expect(fieldsOf(expectError(await app.admin.get('/projects/abc/api-keys'), 422))).toEqual(['projectId']);
      expect(fieldsOf(expectError(await app.admin.post('/orgs/x/projects', { name: 'x' }), 422))).toEqual(['orgId']);
    });

    it('answers 404 with the error shape for a route that does not exist', async () => {
      expectError(await tenant.http.get('/no/such/route'), 404, 'ROUTE.NOT_FOUND');
      expectError(await tenant.http.request('PUT', devices(), validDevice()), 404);
    });
  });

  describe('request ids', () => {
    it('gives every response an X-Request-ID, a fresh one each time', async () => {
      const ok = await tenant.http.get(devices());
      const err = await tenant.http.post(devices(), {});
      const [a, b] = [ok.headers.get('x-request-id'), err.headers.get('x-request-id')];
      expect(a).toMatch(UUID);
      expect(b).toMatch(UUID);
      expect(a).not.toBe(b);
      expect(err.body.request_id).toBe(b);
    });

    it('keeps an incoming X-Request-ID, on success and in errors', async () => {
      const id = 'trace-42.abc:def_1';
      const ok = await tenant.http.get(devices(), { 'X-Request-ID': id });
      expect(ok.headers.get('x-request-id')).toBe(id);
      for (const res of [
        await tenant.http.post(devices(), {}, { 'X-Request-ID': id }),
        await tenant.http.post(devices(), '{', { 'X-Request-ID': id }),
        await tenant.http.post(devices(), { ...validDevice(), padding: 'x'.repeat(MAX_BODY_BYTES) }, { 'X-Request-ID': id }),
        await app.http.get(devices(), { 'X-Request-ID': id }),
        await app.http.get(devices(), { 'X-Request-ID': id, 'X-API-Key': 'nope' }),
      ]) {
        expectError(res, res.status);
        expect(res.body.request_id).toBe(id);
      }
    });

    it('replaces an unusable incoming X-Request-ID with its own', async () => {
      for (const id of ['has spaces in it', 'x'.repeat(129), '<script>']) {
        const res = await tenant.http.post(devices(), {}, { 'X-Request-ID': id });
        expectError(res, 422);
        expect(res.body.request_id).toMatch(UUID);
      }
    });
  });

  describe('afterwards', () => {
    it('the process stayed up through all of it', async () => {
      expect(app.proc.proc.exitCode).toBeNull();
      const health = await app.http.get('/health');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
      expect((await tenant.http.post(devices(), validDevice())).status).toBe(201);
    });
  });
});
