import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { RunningApp, startApp } from '../support/app';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { eventually, Received, Reply, WebhookReceiver } from '../support/webhook-receiver';

/**
 * Subscriber controls (docs/webhooks.md): secret rotation with a grace period, pacing
 * (`rate_limit_per_second`) and test events, each seen from a real local receiver that checks
 * signatures with the `standardwebhooks` package, as a subscriber would.
 */
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_MS: '200',
  WEBHOOK_MAX_RETRIES: '3',
  WEBHOOK_TIMEOUT_MS: '3000',
  WEBHOOK_SWEEP_INTERVAL_MS: '1000',
};
const RULE = { name: 'hot', metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0, severity: 'critical' };
const uniq = () => randomBytes(4).toString('hex');
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let clock = Date.UTC(2026, 11, 3);

/** Whether a receiver that knows only `secret` accepts the request, checked with the reference package. */
const verifies = (secret: string, r: Received) => {
  try {
    new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};
const legacyOk = (secret: string, r: Received) =>
  r.headers['x-telemetry-signature'] === createHmac('sha256', secret).update(`${r.headers['x-telemetry-timestamp']}.${r.body}`).digest('hex');

/** Sends readings alternately over and under the rule's threshold: one alert event each. */
function eventSource(t: Tenant, externalId: string) {
  let hot = false;
  return () =>
    t.http.post('/telemetry', {
      device_external_id: externalId,
      events: [{ ts: new Date((clock += 1000)).toISOString(), data: { temperature: (hot = !hot) ? 95 : 20 } }],
    });
}

async function project(app: RunningApp, rules = 1) {
  const t = await createTenant(app);
  for (let i = 0; i < rules; i += 25) {
    const batch = Array.from({ length: Math.min(25, rules - i) }, (_, j) =>
      t.http.post(`/projects/${t.projectId}/rules`, { ...RULE, name: `hot-${i + j}`, threshold: 80 - (i + j) * 0.1 }),
    );
    for (const res of await Promise.all(batch)) expect(res.status).toBe(201);
  }
  const device = await createDevice(t, { external_id: `sensor-${uniq()}` });
  return { t, device, event: eventSource(t, device.external_id) };
}

async function subscribe(t: Tenant, sink: WebhookReceiver, body: Record<string, unknown> = {}, ...replies: Reply[]) {
  const path = `/hook-${uniq()}`;
  const res = await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(path, ...(replies.length ? replies : [{ status: 200 }])), ...body });
  expect(res.status).toBe(201);
  return { path, webhook: res.body };
}

const deliveriesOf = async (t: Tenant, webhookId: number) =>
  ((await t.http.get(`/projects/${t.projectId}/webhook-deliveries?limit=100`)).body as any[]).filter((d) => d.webhook_id === webhookId);

describe('webhook subscriber controls', () => {
  let app: RunningApp;
  const sink = new WebhookReceiver();

  beforeAll(async () => {
    [app] = await Promise.all([startApp(ENV), sink.start()]);
  });
  afterAll(async () => {
    await Promise.all([app?.close(), sink.stop()]);
  });

  describe('secret rotation', () => {
    it('during the grace both secrets verify every delivery; after it only the new one does', async () => {
      const { t, event } = await project(app);
      const old = newSecret();
      const { path, webhook } = await subscribe(t, sink, { secret: old });
      await event();
      const [before] = await sink.waitFor(path, 1);
      expect(verifies(old, before)).toBe(true);

      const res = await t.http.post(`/webhooks/${webhook.id}/rotate-secret`, { grace_seconds: 4 });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['previous_secret_expires_at', 'secret', 'webhook_id']);
      const { secret: fresh, previous_secret_expires_at: expiresAt } = res.body;
      expect(res.body.webhook_id).toBe(webhook.id);
      expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(fresh.slice(6), 'base64')).toHaveLength(32);
      expect(Math.abs(Date.parse(expiresAt) - (Date.now() + 4000))).toBeLessThan(3000);

      // During the grace: a receiver that knows only the old secret, and one that knows only the new, both verify.
      const during: Received[] = [];
      for (let i = 0; i < 3 && Date.now() < Date.parse(expiresAt) - 1500; i++) {
        await event();
        during.push((await sink.waitFor(path, 2 + i)).at(-1)!);
      }
      expect(during.length).toBeGreaterThan(0);
      for (const r of during) {
        expect(r.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
        expect(verifies(old, r)).toBe(true);
        expect(verifies(fresh, r)).toBe(true);
        // Newest first; the legacy header signs with the newest.
        const [first] = (r.headers['webhook-signature'] as string).split(' ');
        expect(verifies(fresh, { ...r, headers: { ...r.headers, 'webhook-signature': first } })).toBe(true);
        expect(legacyOk(fresh, r)).toBe(true);
        expect(legacyOk(old, r)).toBe(false);
      }

      // After it: only the new secret.
      await sleep(Math.max(0, Date.parse(expiresAt) - Date.now() + 200));
      const seen = sink.at(path).length;
      for (let i = 1; i <= 3; i++) {
        await event();
        await sink.waitFor(path, seen + i);
      }
      const afterGrace = sink.at(path).slice(seen);
      for (const r of afterGrace) {
        expect(r.headers['webhook-signature']).toMatch(/^v1,\S+$/);
        expect(verifies(fresh, r)).toBe(true);
        expect(verifies(old, r)).toBe(false);
      }
    });

    it('grace_seconds 0 ends the old secret at once; a given secret, however short, is used as given', async () => {
      const { t, event } = await project(app);
      const old = newSecret();
      const { path, webhook } = await subscribe(t, sink, { secret: old });
      const given = 'hush';
      const res = await t.http.post(`/webhooks/${webhook.id}/rotate-secret`, { secret: given, grace_seconds: 0 });
      expect(res.status).toBe(200);
      expect(res.body.secret).toBe(given);
      expect(Date.parse(res.body.previous_secret_expires_at)).toBeLessThanOrEqual(Date.now() + 1000);
      await event();
      const [got] = await sink.waitFor(path, 1);
      expect(got.headers['webhook-signature']).toMatch(/^v1,\S+$/);
      expect(verifies(Buffer.from(given).toString('base64'), got)).toBe(true);
      expect(verifies(old, got)).toBe(false);
      expect(legacyOk(given, got)).toBe(true);
    });

    it('a retry of a delivery made before the rotation is signed with the secrets valid at the retry', async () => {
      const { t, event } = await project(app);
      const old = newSecret();
      // The first attempt is told to come back in 2 s; the rotation happens in between.
      const { path, webhook } = await subscribe(t, sink, { secret: old }, { status: 429, headers: { 'Retry-After': '2' } }, { status: 200 });
      await event();
      const [first] = await sink.waitFor(path, 1);
      expect(verifies(old, first)).toBe(true);
      const { body } = await t.http.post(`/webhooks/${webhook.id}/rotate-secret`, { grace_seconds: 0 });
      const [, retry] = await sink.waitFor(path, 2);
      expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
      expect(verifies(body.secret, retry)).toBe(true);
      expect(verifies(old, retry)).toBe(false);
    });

    it('at most 5 secrets are valid at once: the rotation that would make a sixth is 409', async () => {
      const { t } = await project(app);
      const { webhook } = await subscribe(t, sink);
      const rotate = (body: Record<string, unknown> = {}) => t.http.post(`/webhooks/${webhook.id}/rotate-secret`, body);
      // A bare POST (no body, no content-type) is a rotation with the defaults.
      const bare = await t.http.request('POST', `/webhooks/${webhook.id}/rotate-secret`);
      expect(bare.status).toBe(200);
      expect(bare.body.secret).toMatch(/^whsec_/);
      for (let i = 0; i < 3; i++) expect((await rotate()).status).toBe(200);
      const refused = await rotate();
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('WEBHOOK.TOO_MANY_SECRETS');
      expect((await rotate({ secret: newSecret() })).status).toBe(409);
      // Ending the old ones at once makes room again.
      expect((await rotate({ grace_seconds: 0 })).status).toBe(200);
      expect((await rotate()).status).toBe(200);
    });

    it('validates the body, is 404 across tenants, and never shows or logs a secret', async () => {
      const { t, event } = await project(app);
      const created = newSecret();
      const { path, webhook } = await subscribe(t, sink, { secret: created });
      for (const body of [{ grace_seconds: -1 }, { grace_seconds: 604801 }, { grace_seconds: 1.5 }, { grace_seconds: '10' }, { secret: '' }, { secret: 'x'.repeat(201) }, { secret: 12345678901234567 }]) {
        const res = await t.http.post(`/webhooks/${webhook.id}/rotate-secret`, body);
        expect(res.status).toBe(422);
      }
      expect((await t.http.post(`/webhooks/${webhook.id}/rotate-secret`, { grace_seconds: 604800 })).status).toBe(200);
      const stranger = await createTenant(app);
      expect((await stranger.http.post(`/webhooks/${webhook.id}/rotate-secret`, {})).status).toBe(404);
      const rotated = (await t.http.post(`/webhooks/${webhook.id}/rotate-secret`, {})).body.secret;

      await event();
      await sink.waitFor(path, 1);
      const d = (await eventually(() => deliveriesOf(t, webhook.id), (ds) => ds.length === 1 && ds[0].status === 'success'))[0];
      const shown = [
        (await t.http.get(`/webhooks/${webhook.id}`)).text,
        (await t.http.get(`/projects/${t.projectId}/webhooks`)).text,
        (await t.http.patch(`/webhooks/${webhook.id}`, { rate_limit_per_second: 5 })).text,
        (await t.http.get(`/webhook-deliveries/${d.id}`)).text,
        (await t.http.get(`/projects/${t.projectId}/webhook-deliveries`)).text,
        app.proc.output(),
      ].join('\n');
      for (const secret of [created, rotated]) {
        expect(shown).not.toContain(secret);
        expect(shown).not.toContain(secret.slice(6));
      }
    });
  });

  describe('test events', () => {
    it('POST /webhooks/{id}/test delivers a signed webhook.test, whatever event_types says', async () => {
      const { t } = await project(app);
      const secret = newSecret();
      const { path, webhook } = await subscribe(t, sink, { secret, event_types: ['alert.resolved'] });
      const res = await t.http.post(`/webhooks/${webhook.id}/test`);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ project_id: t.projectId, webhook_id: webhook.id, alert_id: null, event: 'webhook.test', attempts: 0 });
      const [got] = await sink.waitFor(path, 1);
      expect(got.json).toEqual({
        event: 'webhook.test',
        alert_id: null,
        project_id: t.projectId,
        device_id: null,
        device_external_id: null,
        rule_id: null,
        status: null,
        severity: null,
        triggered_at: null,
        resolved_at: null,
        details: null,
      });
      expect(got.headers['webhook-id']).toBe(`dlv_${res.body.id}`);
      expect(verifies(secret, got)).toBe(true);
      expect(legacyOk(secret, got)).toBe(true);
      const d = await eventually(async () => (await t.http.get(`/webhook-deliveries/${res.body.id}`)).body, (x) => x.status === 'success');
      expect(d).toMatchObject({ event: 'webhook.test', attempts: 1, last_status_code: 200 });
      expect(d.attempt_log).toHaveLength(1);
    });

    it('is retried like any delivery', async () => {
      const { t } = await project(app);
      const { path, webhook } = await subscribe(t, sink, {}, { status: 503 }, { status: 200 });
      const res = await t.http.post(`/webhooks/${webhook.id}/test`);
      await sink.waitFor(path, 2);
      const d = await eventually(async () => (await t.http.get(`/webhook-deliveries/${res.body.id}`)).body, (x) => x.status === 'success');
      expect(d.attempt_log.map((a: any) => a.status_code)).toEqual([503, 200]);
    });

    it('is 409 for a disabled webhook and 404 across tenants', async () => {
      const { t } = await project(app);
      const { path, webhook } = await subscribe(t, sink);
      expect((await t.http.post(`/webhooks/${webhook.id}/disable`)).status).toBe(200);
      const res = await t.http.post(`/webhooks/${webhook.id}/test`);
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('WEBHOOK.DISABLED');
      const stranger = await createTenant(app);
      expect((await stranger.http.post(`/webhooks/${webhook.id}/test`)).status).toBe(404);
      expect((await t.http.post(`/webhooks/999999999/test`)).status).toBe(404);
      await sleep(300);
      expect(sink.at(path)).toHaveLength(0);
      expect(await deliveriesOf(t, webhook.id)).toEqual([]);
    });
  });

  it('a 2xx answer with a 5 MB body is a success at the first attempt', async () => {
    const { t } = await project(app);
    const { path, webhook } = await subscribe(t, sink, {}, { status: 200, body: Buffer.alloc(5 * 1024 * 1024, 'x') });
    const res = await t.http.post(`/webhooks/${webhook.id}/test`);
    await sink.waitFor(path, 1);
    const d = await eventually(async () => (await t.http.get(`/webhook-deliveries/${res.body.id}`)).body, (x) => x.status !== 'pending' && x.status !== 'sending');
    expect(d).toMatchObject({ status: 'success', attempts: 1, last_status_code: 200, last_error: null });
    await sleep(500);
    expect(sink.at(path)).toHaveLength(1);
    expect((await t.http.get(`/webhooks/${webhook.id}/circuit-status`)).body.circuit_breaker).toMatchObject({ state: 'closed', failures: 0 });
  });

  describe('rate_limit_per_second', () => {
    it('is set on create and PATCH (null removes it), within 1…10000', async () => {
      const { t } = await project(app);
      const { webhook } = await subscribe(t, sink, { rate_limit_per_second: 20 });
      expect(webhook.rate_limit_per_second).toBe(20);
      expect((await subscribe(t, sink)).webhook.rate_limit_per_second).toBeNull();
      expect((await t.http.get(`/webhooks/${webhook.id}`)).body.rate_limit_per_second).toBe(20);
      expect((await t.http.patch(`/webhooks/${webhook.id}`, { rate_limit_per_second: 10000 })).body.rate_limit_per_second).toBe(10000);
      expect((await t.http.patch(`/webhooks/${webhook.id}`, { url: sink.script('/other') })).body.rate_limit_per_second).toBe(10000);
      expect((await t.http.patch(`/webhooks/${webhook.id}`, { rate_limit_per_second: null })).body.rate_limit_per_second).toBeNull();
      for (const bad of [0, 10001, 1.5, '5', -1]) {
        const created = await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script('/bad'), rate_limit_per_second: bad });
        expect(created.status).toBe(422);
        expect(JSON.stringify(created.body.error.details)).toContain('rate_limit_per_second');
        expect((await t.http.patch(`/webhooks/${webhook.id}`, { rate_limit_per_second: bad })).status).toBe(422);
      }
    });

    it('200 deliveries paced at 20/s spread over ~10 s, each at its first attempt, while an unpaced webhook of the project gets its own at once', async () => {
      const { t, event } = await project(app, 200);
      const paced = await subscribe(t, sink, { rate_limit_per_second: 20 });
      const free = await subscribe(t, sink);
      const started = Date.now();
      expect((await event()).status).toBe(202);

      await sink.waitFor(free.path, 200, 60_000);
      const pacedWhenFreeDone = sink.at(paced.path).length;
      const arrived = await sink.waitFor(paced.path, 200, 90_000);
      const span = arrived[199].at - arrived[0].at;
      const freeSpan = sink.at(free.path)[199].at - sink.at(free.path)[0].at;
      process.stdout.write(
        `pacing 20/s: 200 paced deliveries over ${span} ms (first ${arrived[0].at - started} ms after the reading); ` +
          `unpaced: 200 over ${freeSpan} ms, while ${pacedWhenFreeDone} paced ones had arrived; ` +
          `most paced in any 1 s: ${maxInWindow(arrived.map((r) => r.at), 1000)}\n`,
      );
      // Not faster than the pace (a busy machine can only make it slower)...
      expect(span).toBeGreaterThanOrEqual(199 * 50 * 0.9);
      // ...and the paced endpoint did not hold the other one back.
      expect(pacedWhenFreeDone).toBeLessThan(200);
      const ds = await eventually(() => allDeliveries(t, paced.webhook.id), (x) => x.length === 200 && x.every((d) => d.status === 'success'));
      expect(ds.every((d) => d.attempts === 1)).toBe(true);
      expect(new Set(arrived.map((r) => r.headers['webhook-id'])).size).toBe(200);
    });
  });
});

/** Every delivery of one webhook (at most 1,000 in the project). */
async function allDeliveries(t: Tenant, webhookId: number): Promise<any[]> {
  return ((await t.http.get(`/projects/${t.projectId}/webhook-deliveries?limit=1000`)).body as any[]).filter((d) => d.webhook_id === webhookId);
}

function maxInWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** Two worker processes share one pace: together they keep it. */
describe('webhook pacing across worker processes', () => {
  let api: RunningApp;
  let workers: SpawnedApp[];
  const sink = new WebhookReceiver();

  beforeAll(async () => {
    [api, ...workers] = await Promise.all([startApp({ ...ENV, ROLE: 'api' }), spawnApp(ENV, 'dist/src/worker.js'), spawnApp(ENV, 'dist/src/worker.js')]);
    await sink.start();
  });
  afterAll(async () => {
    await Promise.all([api?.close(), ...(workers ?? []).map((w) => w.stop()), sink.stop()]);
  });

  it('200 deliveries at 20/s take ~10 s with two workers sending', async () => {
    const { t, event } = await project(api, 50);
    const paced = await subscribe(t, sink, { rate_limit_per_second: 20 });
    // Four alert changes (open, resolve, ...) of 50 alerts each, each its own job, so that
    // both workers reserve turns (alone, each would keep the pace by itself: twice as fast).
    for (let i = 1; i <= 4; i++) {
      expect((await event()).status).toBe(202);
      await eventually(() => allDeliveries(t, paced.webhook.id), (x) => x.length === 50 * i);
    }
    const arrived = await sink.waitFor(paced.path, 200, 90_000);
    const span = arrived[199].at - arrived[0].at;
    process.stdout.write(`pacing 20/s, two workers: 200 deliveries over ${span} ms; most in any 1 s: ${maxInWindow(arrived.map((r) => r.at), 1000)}\n`);
    expect(span).toBeGreaterThanOrEqual(199 * 50 * 0.9);
    const ds = await eventually(() => allDeliveries(t, paced.webhook.id), (x) => x.length === 200 && x.every((d) => d.status === 'success'));
    expect(ds.every((d) => d.attempts === 1)).toBe(true);
  });
});
