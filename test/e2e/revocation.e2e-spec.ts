import { RunningApp, startApp } from '../support/app';
import { createKey, createTenant, Tenant } from '../support/tenant';

// DESIGN: revocation takes effect on every process within a second.
const PROPAGATION_LIMIT_MS = 1000;
const POLL_INTERVAL_MS = 50;

describe('API key revocation across processes', () => {
  let a: RunningApp;
  let b: RunningApp;
  let tenant: Tenant;

  beforeAll(async () => {
    const started = await Promise.allSettled([startApp(), startApp()]);
    [a, b] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined!));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    tenant = await createTenant(a);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('a key revoked through one process is refused by another, which had it cached, within a second', async () => {
    const key = await createKey(a, tenant.projectId);
    const path = `/projects/${tenant.projectId}/devices`;
    const onA = a.http.with({ 'X-API-Key': key.api_key });
    const onB = b.http.with({ 'X-API-Key': key.api_key });
    // Both processes verify the key and so hold it in their caches.
    for (let i = 0; i < 3; i++) {
      expect((await onA.get(path)).status).toBe(200);
      expect((await onB.get(path)).status).toBe(200);
    }

    expect((await a.admin.delete(`/projects/${tenant.projectId}/api-keys/${key.prefix}`)).status).toBe(204);
    const revokedAt = Date.now();

    let status = 200;
    let elapsed = 0;
    while (elapsed <= PROPAGATION_LIMIT_MS) {
      status = (await onB.get(path)).status;
      elapsed = Date.now() - revokedAt;
      if (status !== 200) break;
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
    expect({ status, withinLimit: elapsed <= PROPAGATION_LIMIT_MS }).toEqual({ status: 403, withinLimit: true });

    // It stays refused on both, and the project's other key keeps working on both.
    expect((await onA.get(path)).status).toBe(403);
    expect((await onB.get(path)).status).toBe(403);
    expect((await tenant.http.get(path)).status).toBe(200);
    expect((await b.http.with({ 'X-API-Key': tenant.key }).get(path)).status).toBe(200);
  });
});
