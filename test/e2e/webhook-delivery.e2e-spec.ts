import Queue from 'bull';
import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { RunningApp, startApp } from '../support/app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { eventually, Reply, WebhookReceiver } from '../support/webhook-receiver';

/** Short timings so retries, timeouts and backoff happen within a test. */
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_MS: '200',
  WEBHOOK_MAX_RETRIES: '3',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_CONNECT_TIMEOUT_MS: '1000',
};
/** Every reading over 80 opens an alert, every other one resolves it: one event per reading. */
const RULE = { name: 'hot', metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0, severity: 'critical' };
const uniq = () => randomBytes(4).toString('hex');
let clock = Date.UTC(2026, 11, 1);

describe('webhook delivery', () => {
  let app: RunningApp;
  const sink = new WebhookReceiver();

  beforeAll(async () => {
    [app] = await Promise.all([startApp(ENV), sink.start()]);
  });
  afterAll(async () => {
    await Promise.all([app?.close(), sink.stop()]);
  });

  /** A project with the rule, a device and one webhook whose endpoint answers `replies`. */
  async function subscriber(...replies: Reply[]) {
    const t = await createTenant(app);
    expect((await t.http.post(`/projects/${t.projectId}/rules`, RULE)).status).toBe(201);
    const device = await createDevice(t, { external_id: `sensor-${uniq()}` });
    const path = `/hook-${uniq()}`;
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const res = await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(path, ...replies), secret });
    expect(res.status).toBe(201);
    return { t, device, path, secret, webhook: res.body };
  }

  const reading = (t: Tenant, externalId: string, temperature: number) =>
    t.http.post('/telemetry', { device_external_id: externalId, events: [{ ts: new Date((clock += 1000)).toISOString(), data: { temperature } }] });

  const deliveries = async (t: Tenant, query = '') => (await t.http.get(`/projects/${t.projectId}/webhook-deliveries${query}`)).body as any[];
  const delivery = async (t: Tenant, id: number) => (await t.http.get(`/webhook-deliveries/${id}`)).body;
  /** The one delivery of the project once it reached `status`. */
  const settled = async (t: Tenant, status: string) => (await eventually(() => deliveries(t), (d) => d.length === 1 && d[0].status === status))[0];

  it('delivers the alert with the design body, signed both ways', async () => {
    const { t, device, path, secret, webhook } = await subscriber({ status: 200 });
    expect((await reading(t, device.external_id, 95)).status).toBe(202);
    const [got] = await sink.waitFor(path, 1);

    expect(Object.keys(got.json)).toEqual([
      'event', 'alert_id', 'project_id', 'device_id', 'device_external_id', 'rule_id', 'status', 'severity', 'triggered_at', 'resolved_at', 'details',
    ]);
    const alerts = (await t.http.get(`/projects/${t.projectId}/alerts`)).body;
    expect(got.json).toEqual({
      event: 'alert.triggered',
      alert_id: alerts[0].id,
      project_id: t.projectId,
      device_id: device.id,
      device_external_id: device.external_id,
      rule_id: alerts[0].rule_id,
      status: 'firing',
      severity: 'critical',
      triggered_at: alerts[0].triggered_at,
      resolved_at: null,
      details: alerts[0].details,
    });
    expect(got.headers['content-type']).toContain('application/json');

    // Standard Webhooks, checked with the reference package.
    const d = await settled(t, 'success');
    expect(got.headers['webhook-id']).toBe(`dlv_${d.id}`);
    expect(() => new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).not.toThrow();
    expect(() => new Webhook(secret).verify(got.body.replace('firing', 'resolved'), got.headers as Record<string, string>)).toThrow();
    // The old system's signature: hex HMAC of "<ISO timestamp>.<body>" keyed with the secret string.
    const ts = got.headers['x-telemetry-timestamp'] as string;
    expect(new Date(ts).toISOString()).toBe(ts);
    expect(Math.abs(Date.parse(ts) / 1000 - Number(got.headers['webhook-timestamp']))).toBeLessThan(1);
    expect(got.headers['x-telemetry-signature']).toBe(createHmac('sha256', secret).update(`${ts}.${got.body}`).digest('hex'));

    expect(d).toMatchObject({ project_id: t.projectId, webhook_id: webhook.id, alert_id: alerts[0].id, event: 'alert.triggered', attempts: 1, last_status_code: 200, last_error: null, next_attempt_at: null });
    expect(d.delivered_at).not.toBeNull();
    const detail = await delivery(t, d.id);
    expect(detail.attempt_log).toEqual([{ attempt: 1, at: expect.any(String), status_code: 200, error: null, duration_ms: expect.any(Number) }]);

    // The resolution is an event of its own.
    await reading(t, device.external_id, 20);
    const [, second] = await sink.waitFor(path, 2);
    expect(second.json).toMatchObject({ event: 'alert.resolved', status: 'resolved', alert_id: alerts[0].id });
    expect(second.json.resolved_at).toEqual(expect.stringMatching(/Z$/));
  });

  it('a 500 then a 200 succeeds on the retry, with the same webhook-id', async () => {
    const { t, device, path } = await subscriber({ status: 500 }, { status: 200 });
    await reading(t, device.external_id, 95);
    const d = await settled(t, 'success');
    const got = sink.at(path);
    expect(got).toHaveLength(2);
    expect(got[1].headers['webhook-id']).toBe(got[0].headers['webhook-id']);
    expect(got[1].body).toBe(got[0].body);
    expect(d).toMatchObject({ attempts: 2, last_status_code: 200 });
    expect((await delivery(t, d.id)).attempt_log.map((a: any) => [a.attempt, a.status_code])).toEqual([[1, 500], [2, 200]]);
  });

  it('a 400 fails at once, after one attempt', async () => {
    const { t, device, path } = await subscriber({ status: 400 });
    await reading(t, device.external_id, 95);
    const d = await settled(t, 'failed');
    expect(d).toMatchObject({ attempts: 1, last_status_code: 400, next_attempt_at: null });
    await new Promise((r) => setTimeout(r, 1000));
    expect(sink.at(path)).toHaveLength(1);
  });

  it('a 410 fails the delivery and disables the webhook', async () => {
    const { t, device, webhook } = await subscriber({ status: 410 });
    await reading(t, device.external_id, 95);
    await settled(t, 'failed');
    const after = (await t.http.get(`/webhooks/${webhook.id}`)).body;
    expect(after.enabled).toBe(false);
  });

  it('a timeout is retried', async () => {
    const { t, device, path } = await subscriber({ status: 200, delayMs: 2500 }, { status: 200 });
    await reading(t, device.external_id, 95);
    const d = await settled(t, 'success');
    expect(d.attempts).toBe(2);
    const log = (await delivery(t, d.id)).attempt_log;
    expect(log[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/timeout/i) });
    expect(log[0].duration_ms).toBeGreaterThanOrEqual(900);
    expect(sink.at(path).length).toBeGreaterThanOrEqual(2);
  });

  it('honours Retry-After', async () => {
    const { t, device, path } = await subscriber({ status: 429, headers: { 'Retry-After': '2' } }, { status: 200 });
    await reading(t, device.external_id, 95);
    await settled(t, 'success');
    const [first, second] = sink.at(path);
    expect(second.at - first.at).toBeGreaterThanOrEqual(1900);
  });

  it('after the last retry the delivery is failed, with every attempt logged', async () => {
    const { t, device, path } = await subscriber({ status: 503 });
    await reading(t, device.external_id, 95);
    const d = await settled(t, 'failed');
    expect(d).toMatchObject({ attempts: 4, last_status_code: 503, last_error: 'HTTP 503', next_attempt_at: null });
    const log = (await delivery(t, d.id)).attempt_log;
    expect(log.map((a: any) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(sink.at(path)).toHaveLength(4);
    // Backoff grows: the gaps between attempts are not all equal to the first.
    const at = sink.at(path).map((r) => r.at);
    expect(at[3] - at[2]).toBeGreaterThan(at[1] - at[0]);
    expect((await deliveries(t, '?status=failed')).map((x) => x.id)).toEqual([d.id]);
    expect(await deliveries(t, '?status=success')).toEqual([]);
  });

  it('a disabled webhook receives nothing; enabled again, it receives the next event', async () => {
    const { t, device, path, webhook } = await subscriber({ status: 200 });
    const other = `/hook-${uniq()}`;
    expect((await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(other, { status: 200 }) })).status).toBe(201);
    expect((await t.http.post(`/webhooks/${webhook.id}/disable`)).body.enabled).toBe(false);
    await reading(t, device.external_id, 95);
    await sink.waitFor(other, 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.at(path)).toHaveLength(0);
    expect((await deliveries(t)).every((d) => d.webhook_id !== webhook.id)).toBe(true);

    expect((await t.http.post(`/webhooks/${webhook.id}/enable`)).body.enabled).toBe(true);
    await reading(t, device.external_id, 20);
    const [got] = await sink.waitFor(path, 1);
    expect(got.json.event).toBe('alert.resolved');
  });

  it('event_types filters what a webhook receives', async () => {
    const { t, device, path, webhook } = await subscriber({ status: 200 });
    expect((await t.http.patch(`/webhooks/${webhook.id}`, { event_types: ['alert.resolved'] })).body.event_types).toEqual(['alert.resolved']);
    await reading(t, device.external_id, 95);
    // Evaluated alone (not coalesced with the next reading), so the alert opens first.
    await eventually(async () => (await t.http.get(`/projects/${t.projectId}/alerts?status=open`)).body, (a) => a.length === 1);
    await reading(t, device.external_id, 20);
    const [got] = await sink.waitFor(path, 1);
    expect(got.json.event).toBe('alert.resolved');
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.at(path)).toHaveLength(1);
  });

  it('a replayed delivery arrives again with the same webhook-id; one still in progress cannot be replayed', async () => {
    const { t, device, path } = await subscriber({ status: 200 });
    await reading(t, device.external_id, 95);
    const d = await settled(t, 'success');
    const res = await t.http.post(`/webhook-deliveries/${d.id}/retry`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: d.id, status: 'pending' });
    const [first, again] = await sink.waitFor(path, 2);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(again.body).toBe(first.body);
    await eventually(() => delivery(t, d.id), (x) => x.status === 'success' && x.attempts === 2);

    const slow = await subscriber({ status: 200, delayMs: 800 });
    await reading(slow.t, slow.device.external_id, 95);
    const busy = (await eventually(() => deliveries(slow.t), (x) => x.length === 1 && x[0].status === 'sending'))[0];
    expect((await slow.t.http.post(`/webhook-deliveries/${busy.id}/retry`)).status).toBe(409);
  });

  it('an operator resolving an alert notifies too', async () => {
    const { t, device, path } = await subscriber({ status: 200 });
    await reading(t, device.external_id, 95);
    const [triggered] = await sink.waitFor(path, 1);
    expect((await t.http.post(`/alerts/${triggered.json.alert_id}/resolve`)).status).toBe(200);
    const [, resolved] = await sink.waitFor(path, 2);
    expect(resolved.json).toMatchObject({ event: 'alert.resolved', alert_id: triggered.json.alert_id, status: 'resolved' });
  });

  it('deliveries and webhooks of another project are 404', async () => {
    const { t, device } = await subscriber({ status: 200 });
    await reading(t, device.external_id, 95);
    const d = await settled(t, 'success');
    const stranger = await createTenant(app);
    expect((await stranger.http.get(`/webhook-deliveries/${d.id}`)).status).toBe(404);
    expect((await stranger.http.post(`/webhook-deliveries/${d.id}/retry`)).status).toBe(404);
    expect((await stranger.http.get(`/webhooks/${d.webhook_id}`)).status).toBe(404);
    expect((await stranger.http.get(`/webhooks/${d.webhook_id}/circuit-status`)).status).toBe(404);
    expect((await stranger.http.get(`/projects/${t.projectId}/webhook-deliveries`)).status).toBe(404);
  });

  it('a reading that fires many rules at once delivers every alert exactly once, failures retried alone', async () => {
    const { t, device, path } = await subscriber({ status: 500 }, { status: 503 }, { status: 200 });
    for (let i = 1; i < 40; i++) {
      expect((await t.http.post(`/projects/${t.projectId}/rules`, { ...RULE, name: `hot-${i}`, threshold: 80 - i })).status).toBe(201);
    }
    expect((await reading(t, device.external_id, 95)).status).toBe(202);
    const all = await eventually(() => deliveries(t, '?limit=100'), (ds) => ds.length === 40 && ds.every((d) => d.status === 'success'));
    const alerts = (await t.http.get(`/projects/${t.projectId}/alerts?limit=100`)).body as any[];
    expect(new Set(all.map((d) => d.alert_id))).toEqual(new Set(alerts.map((a) => a.id)));
    // 40 first attempts, two of which failed and were sent again with their own webhook-id.
    const got = sink.at(path);
    expect(got).toHaveLength(42);
    const alertByMessage = new Map<string, Set<number>>();
    for (const r of got) alertByMessage.set(r.headers['webhook-id'] as string, (alertByMessage.get(r.headers['webhook-id'] as string) ?? new Set()).add(r.json.alert_id));
    expect(alertByMessage.size).toBe(40);
    expect([...alertByMessage.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(all.filter((d) => d.attempts === 2)).toHaveLength(2);
    expect(all.filter((d) => d.attempts === 1)).toHaveLength(38);
  });

  it('the first attempt does not wait behind the delivery queue; retries go through it', async () => {
    // The webhook-delivery queue is paused for every worker (a backlog of retries would hold it
    // up the same way): a fresh alert's first attempt is made by the process that committed it.
    const queue = new Queue('webhook-delivery', { prefix: process.env.REDIS_PREFIX, redis: process.env.REDIS_URL! });
    try {
      const { t, device, path } = await subscriber({ status: 500 }, { status: 200 });
      await queue.pause();
      expect((await reading(t, device.external_id, 95)).status).toBe(202);
      const [first] = await sink.waitFor(path, 1);
      expect(first.json.event).toBe('alert.triggered');
      // It failed (500): its retry is a job, which waits while the queue is paused.
      const d = await settled(t, 'retrying');
      await eventually(() => queue.getJobCounts(), (c) => c.delayed + c.waiting + (c as unknown as { paused: number }).paused >= 1);
      await new Promise((r) => setTimeout(r, 1000));
      expect(sink.at(path)).toHaveLength(1);
      await queue.resume();
      expect(await settled(t, 'success')).toMatchObject({ id: d.id, attempts: 2, last_status_code: 200 });
      expect(sink.at(path)).toHaveLength(2);
    } finally {
      await queue.resume().catch(() => undefined);
      await queue.close();
    }
  });
});
