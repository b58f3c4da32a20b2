import { promises as dns } from 'node:dns';
import { hostname } from 'node:os';
import { RunningApp, startApp } from '../support/app';
import { expectError, fieldsOf } from '../support/errors';
import type { HttpResponse } from '../support/http';
import { createKey, createTenant, Tenant } from '../support/tenant';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** `whsec_` + base64 of 32 bytes: 43 characters and one `=` of padding. */
const GENERATED_SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
const UNKNOWN_ID = 999_999_999;

/** The secret is shown once: neither the field nor its value may leak into a later answer. */
function expectNoSecret(res: HttpResponse, secret: string): void {
  const items = Array.isArray(res.body) ? res.body : [res.body];
  for (const item of items) expect(item).not.toHaveProperty('secret');
  expect(res.text).not.toContain(secret);
}

describe('webhook subscriptions', () => {
  let app: RunningApp;
  let tenant: Tenant;

  beforeAll(async () => {
    // Explicit, so the loopback case below does not depend on the default of the environment.
    app = await startApp({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    tenant = await createTenant(app);
  });
  afterAll(async () => {
    if (process.env.DUMP_APP_LOG) console.log(app.proc.output().slice(-6000));
    await app?.close();
  });

  const hooks = (t: Tenant = tenant) => `/projects/${t.projectId}/webhooks`;
  const create = async (body: object, t: Tenant = tenant) => {
    const res = await t.http.post(hooks(t), body);
    expect({ status: res.status, text: res.text }).toEqual({ status: 201, text: expect.any(String) });
    return res.body;
  };

  it('creation answers the webhook with a generated secret, shown only then', async () => {
    const res = await tenant.http.post(hooks(), { url: 'https://example.com/hook' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual(
      expect.objectContaining({ id: expect.any(Number), project_id: tenant.projectId, url: 'https://example.com/hook', event_types: ['alert.triggered', 'alert.resolved'], enabled: true }),
    );
    expect(res.body.created_at).toMatch(ISO_UTC);
    expect(res.body.secret).toMatch(GENERATED_SECRET);
    expect(Buffer.from(res.body.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    const { id, secret } = res.body;

    const other = await create({ url: 'https://example.com/hook' });
    expect(other.secret).toMatch(GENERATED_SECRET);
    expect(other.secret).not.toBe(secret);

    const given = 'a-secret-of-my-own-choosing';
    expect((await create({ url: 'https://example.com/given', secret: given })).secret).toBe(given);

    expectNoSecret(await tenant.http.get(hooks()), secret);
    expectNoSecret(await tenant.http.get(hooks()), given);
    expectNoSecret(await tenant.http.get(`/webhooks/${id}`), secret);
    expectNoSecret(await tenant.http.patch(`/webhooks/${id}`, { event_types: ['alert.resolved'] }), secret);
    const disabled = await tenant.http.post(`/webhooks/${id}/disable`);
    expect(disabled.body.enabled).toBe(false);
    expectNoSecret(disabled, secret);
    const enabled = await tenant.http.post(`/webhooks/${id}/enable`);
    expect(enabled.body.enabled).toBe(true);
    expectNoSecret(enabled, secret);
  });

  it('PATCH changes url and event_types; a bad PATCH is a 422 naming the field and changes nothing', async () => {
    const { id } = await create({ url: 'https://example.com/a' });
    const res = await tenant.http.patch(`/webhooks/${id}`, { url: 'https://example.org/b', event_types: ['alert.triggered'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, url: 'https://example.org/b', event_types: ['alert.triggered'], enabled: true });
    const before = (await tenant.http.get(`/webhooks/${id}`)).body;
    expect(before).toEqual(res.body);

    const bad: [object, string][] = [
      [{ event_types: ['alert.nope'] }, 'event_types'],
      [{ url: 'ftp://x' }, 'url'],
      [{ enabled: 'yes' }, 'enabled'],
      [{ url: null }, 'url'],
      [{ event_types: null }, 'event_types'],
      [{ enabled: null }, 'enabled'],
    ];
    for (const [body, field] of bad) {
      const refused = await tenant.http.patch(`/webhooks/${id}`, body);
      expect(fieldsOf(expectError(refused, 422))).toEqual([field]);
    }
    // updated_at included: a refused change must not even touch the row.
    expect((await tenant.http.get(`/webhooks/${id}`)).body).toEqual(before);
  });

  it('DELETE answers 204, and the webhook is gone', async () => {
    const { id } = await create({ url: 'https://example.com/gone' });
    const res = await tenant.http.delete(`/webhooks/${id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expectError(await tenant.http.get(`/webhooks/${id}`), 404, 'WEBHOOK.NOT_FOUND');
  });

  it('creation with a missing, too long or malformed url or an unknown event type is a 422 naming the field', async () => {
    const cases: [object, string][] = [
      [{}, 'url'],
      [{ event_types: ['alert.triggered'] }, 'url'],
      [{ url: `https://example.com/${'a'.repeat(2048)}` }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: 'https://example.com/x', event_types: ['alert.triggered', 'alert.nope'] }, 'event_types'],
    ];
    for (const [body, field] of cases) {
      expect(fieldsOf(expectError(await tenant.http.post(hooks(), body), 422))).toEqual([field]);
    }
    // A url of exactly the limit is still taken, so the 422 above is the length rule.
    const base = 'https://example.com/';
    expect((await tenant.http.post(hooks(), { url: base + 'a'.repeat(2048 - base.length) })).status).toBe(201);
  });

  it('lists newest first, a page at a time', async () => {
    const t = await createTenant(app);
    const older = await create({ url: 'https://example.com/1' }, t);
    const newer = await create({ url: 'https://example.com/2' }, t);
    const first = await t.http.get(`${hooks(t)}?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body.map((w: any) => w.id)).toEqual([newer.id]);
    const cursor = first.headers.get('x-next-cursor');
    expect(cursor).toEqual(expect.any(String));
    const second = await t.http.get(`${hooks(t)}?limit=1&cursor=${encodeURIComponent(cursor!)}`);
    expect(second.body.map((w: any) => w.id)).toEqual([older.id]);
    expect(second.headers.get('x-next-cursor')).toBeNull();
  });

  it('needs write to create and read to list', async () => {
    const reader = app.http.with({ 'X-API-Key': (await createKey(app, tenant.projectId, ['read'])).api_key });
    const ingester = app.http.with({ 'X-API-Key': (await createKey(app, tenant.projectId, ['ingest'])).api_key });
    expectError(await reader.post(hooks(), { url: 'https://example.com/x' }), 403);
    expect((await reader.get(hooks())).status).toBe(200);
    expectError(await ingester.get(hooks()), 403);
  });

  it('a fresh webhook has a closed circuit, and a reset answers the same shape', async () => {
    const { id, url } = await create({ url: 'https://example.com/circuit' });
    const closed = { webhook_id: id, url, circuit_breaker: { state: 'closed', failures: 0, opened_at: null, next_attempt_at: null } };
    const status = await tenant.http.get(`/webhooks/${id}/circuit-status`);
    expect(status.status).toBe(200);
    expect(status.body).toEqual(closed);
    const reset = await tenant.http.post(`/webhooks/${id}/circuit/reset`);
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual(closed);
  });

  it('every webhook route answers 404 for an unknown id and 422 for a non-numeric one', async () => {
    const routes: [string, string, object?][] = [
      ['GET', ''],
      ['PATCH', '', { enabled: false }],
      ['DELETE', ''],
      ['POST', '/disable', {}],
      ['POST', '/enable', {}],
      ['GET', '/circuit-status'],
      ['POST', '/circuit/reset', {}],
    ];
    for (const [method, suffix, body] of routes) {
      const call = (id: string) => tenant.http.request(method, `/webhooks/${id}${suffix}`, body);
      expectError(await call(String(UNKNOWN_ID)), 404, 'WEBHOOK.NOT_FOUND');
      expect(fieldsOf(expectError(await call('abc'), 422))).toEqual(['webhookId']);
    }
  });

  it('with private targets allowed (local development), a loopback url is accepted', async () => {
    expect((await tenant.http.post(hooks(), { url: 'http://127.0.0.1:9000/x' })).status).toBe(201);
  });
});

describe('webhook subscriptions: SSRF guard', () => {
  let app: RunningApp;
  let tenant: Tenant;

  beforeAll(async () => {
    app = await startApp({ ROLE: 'api', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' });
    tenant = await createTenant(app);
  });
  afterAll(async () => {
    await app?.close();
  });

  const PRIVATE = [
    'http://127.0.0.1:9000/x',
    'http://10.0.0.1/x',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://0.0.0.0/x',
    'http://100.64.0.1/x',
    'http://localhost:9000/x',
  ];

  /** The guard's refusal: a 400 naming `url`, and the url with the reason in the message. */
  function expectUnsafe(res: HttpResponse, url: string): void {
    const error = expectError(res, 400, 'WEBHOOK.UNSAFE_URL');
    expect({ url, fields: fieldsOf(error) }).toEqual({ url, fields: ['url'] });
  }

  it('refuses to create a webhook aimed at a private, loopback, link-local, CGNAT or unspecified address', async () => {
    for (const url of PRIVATE) expectUnsafe(await tenant.http.post(`/projects/${tenant.projectId}/webhooks`, { url }), url);
    expect((await tenant.http.get(`/projects/${tenant.projectId}/webhooks`)).body).toEqual([]);
  });

  it('refuses a host name that resolves to loopback', async () => {
    const name = hostname();
    const addresses = await dns.lookup(name, { all: true }).catch(() => []);
    const loopback = addresses.some((a) => a.address.startsWith('127.') || a.address === '::1');
    if (!loopback) {
      // Only a name this machine resolves to loopback proves the guard resolves names; say
      // so loudly rather than pass on an assertion that checked nothing.
      console.warn(`skipped: host name ${name} resolves to ${JSON.stringify(addresses)}, not to loopback`);
      return;
    }
    expectUnsafe(await tenant.http.post(`/projects/${tenant.projectId}/webhooks`, { url: `http://${name}:9000/x` }), name);
  });

  it('accepts a public address without connecting to it, and refuses to move it to a private one', async () => {
    const res = await tenant.http.post(`/projects/${tenant.projectId}/webhooks`, { url: 'https://93.184.216.34/hook' });
    expect(res.status).toBe(201);
    const before = (await tenant.http.get(`/webhooks/${res.body.id}`)).body;
    for (const url of PRIVATE) expectUnsafe(await tenant.http.patch(`/webhooks/${res.body.id}`, { url }), url);
    expect((await tenant.http.get(`/webhooks/${res.body.id}`)).body).toEqual(before);
  });
});
