import { RunningApp, startApp } from '../support/app';
import { createTenant } from '../support/tenant';

describe('smoke', () => {
  let app: RunningApp;
  beforeAll(async () => (app = await startApp()));
  afterAll(() => app.close());

  it('serves health and a tenant can create a device', async () => {
    expect((await app.http.get('/health')).body).toEqual({ status: 'ok' });
    const t = await createTenant(app);
    const res = await t.http.post(`/projects/${t.projectId}/devices`, { external_id: 'a', name: 'A' });
    expect(res.status).toBe(201);
    expect(res.body.id).toEqual(expect.any(Number));
  });
});
