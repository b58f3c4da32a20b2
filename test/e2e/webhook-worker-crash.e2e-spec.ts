import { randomBytes } from 'node:crypto';
import { RunningApp, startApp } from '../support/app';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant } from '../support/tenant';
import { waitFor } from '../support/telemetry';
import { WebhookReceiver } from '../support/webhook-receiver';

const ENV = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_SWEEP_INTERVAL_MS: '1000' };
const ALERTS = 10;

/**
 * DESIGN, Reliability: a worker killed (SIGKILL) while its requests to the subscriber are in
 * flight leaves no delivery behind: once its claims lapse another worker sends them again,
 * with the same `webhook-id`, so every alert is notified at least once and none stays `sending`.
 */
describe('a worker killed mid-delivery', () => {
  let api: RunningApp;
  const workers: SpawnedApp[] = [];
  const sink = new WebhookReceiver();

  beforeAll(async () => {
    [api] = await Promise.all([startApp({ ...ENV, ROLE: 'api' }), sink.start()]);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await Promise.all([api?.close(), sink.stop()]);
  });

  it(
    'every alert is notified at least once with a stable webhook-id and none is stuck in sending',
    async () => {
      const t = await createTenant(api);
      const rule = { name: 'hot', metric: 'temperature', operator: '>', threshold: 50, window_n: 1, required_k: 1, cooldown_seconds: 0 };
      expect((await t.http.post(`/projects/${t.projectId}/rules`, rule)).status).toBe(201);
      // The subscriber is slow, so the worker dies holding requests in flight.
      const path = `/hook-${randomBytes(4).toString('hex')}`;
      expect((await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(path, { status: 200, delayMs: 2000 }) })).status).toBe(201);
      const devices = await Promise.all(Array.from({ length: ALERTS }, () => createDevice(t)));

      workers.push(await spawnApp({ ...ENV, ROLE: 'worker' }, 'dist/src/worker.js'));
      for (const [i, d] of devices.entries()) {
        const res = await t.http.post('/telemetry', { device_external_id: d.external_id, events: [{ ts: new Date(Date.UTC(2026, 4, 1, 0, i)).toISOString(), data: { temperature: 90 } }] });
        expect(res.status).toBe(202);
      }
      await sink.waitFor(path, 1, 60_000);
      await workers[0].stop('SIGKILL');
      const list = () => t.http.get(`/projects/${t.projectId}/webhook-deliveries`).then((r) => r.body as { id: number; alert_id: number; status: string }[]);
      // The kill must land with deliveries in flight, else this proves nothing.
      expect((await list()).some((d) => d.status === 'sending')).toBe(true);

      workers.push(await spawnApp({ ...ENV, ROLE: 'worker' }, 'dist/src/worker.js'));
      const deliveries = await waitFor(list, (ds) => ds.length === ALERTS && ds.every((d) => d.status === 'success'), {
        timeoutMs: 150_000,
        intervalMs: 500,
        what: 'every delivery to succeed',
      });

      const alerts = (await t.http.get(`/projects/${t.projectId}/alerts`)).body as { id: number }[];
      expect(alerts).toHaveLength(ALERTS);
      const got = sink.at(path);
      for (const alert of alerts) {
        const delivery = deliveries.find((d) => d.alert_id === alert.id)!;
        const requests = got.filter((r) => r.json?.alert_id === alert.id);
        expect(requests.length).toBeGreaterThanOrEqual(1);
        expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([`dlv_${delivery.id}`]));
      }
    },
    300_000,
  );
});
