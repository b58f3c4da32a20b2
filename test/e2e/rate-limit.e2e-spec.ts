import { RunningApp, startApp } from '../support/app';
import { expectError } from '../support/errors';
import { createKey, createTenant, Tenant } from '../support/tenant';

const PROJECT_PER_MINUTE = 5;

describe('rate limits', () => {
  let app: RunningApp;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    app = await startApp({ RATE_LIMIT_PROJECT_PER_MINUTE: String(PROJECT_PER_MINUTE) });
    // Admin routes are unlimited by default, so setting up never counts against a key.
    [a, b] = [await createTenant(app), await createTenant(app)];
  });
  afterAll(() => app?.close());

  const devices = (t: Tenant) => `/projects/${t.projectId}/devices`;

  it('refuses the request after the limit with 429, Retry-After and the error shape', async () => {
    // The limit counts every project route of the key together, reads and writes alike.
    const statuses: number[] = [];
    statuses.push((await a.http.post(devices(a), { external_id: 'rl-1', name: 'RL' })).status);
    for (let i = 1; i < PROJECT_PER_MINUTE; i++) statuses.push((await a.http.get(devices(a))).status);
    expect(statuses).toEqual([201, 200, 200, 200, 200]);

    const limited = await a.http.get(devices(a));
    expectError(limited, 429, 'RATE_LIMIT.EXCEEDED');
    const retryAfter = limited.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);

    // Still refused, for writes too, and nothing is written.
    expectError(await a.http.post(devices(a), { external_id: 'rl-2', name: 'RL' }), 429);
    expectError(await a.http.get(`${devices(a)}/1`), 429);
  });

  it('does not limit a key of another project', async () => {
    for (let i = 0; i < PROJECT_PER_MINUTE; i++) expect((await b.http.get(devices(b))).status).toBe(200);
    expectError(await a.http.get(devices(a)), 429);
  });

  it('counts each key on its own, and the limited key’s writes did not happen', async () => {
    const second = await createKey(app, a.projectId);
    const client = app.http.with({ 'X-API-Key': second.api_key });
    const res = await client.get(devices(a));
    expect(res.status).toBe(200);
    expect(res.body.map((d: { external_id: string }) => d.external_id)).toEqual(['rl-1']);
  });

  it('never limits /health', async () => {
    for (let i = 0; i < PROJECT_PER_MINUTE * 4; i++) {
      const res = await app.http.get('/health', { 'X-API-Key': a.key });
      expect(res.status).toBe(200);
      expect(res.headers.get('retry-after')).toBeNull();
    }
    expect((await app.http.get('/health/ready')).status).toBe(200);
  });

  it('does not limit admin routes by default', async () => {
    for (let i = 0; i < PROJECT_PER_MINUTE * 2; i++) expect((await app.admin.get(`/projects/${a.projectId}/api-keys`)).status).toBe(200);
  });
});
