import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RunningApp, startApp } from '../support/app';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { eventually, WebhookReceiver } from '../support/webhook-receiver';

const RESET_MS = 4000;
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_MS: '200',
  WEBHOOK_MAX_RETRIES: '8',
  WEBHOOK_TIMEOUT_MS: '1000',
  CIRCUIT_FAILURE_THRESHOLD: '5',
  CIRCUIT_RESET_TIMEOUT_MS: String(RESET_MS),
  WEBHOOK_SWEEP_INTERVAL_MS: '500',
};
const RULE = { name: 'hot', metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0 };
const uniq = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let clock = Date.UTC(2026, 11, 2);

/**
 * The circuit is shared: the api serves its status and two separate worker processes send,
 * each deciding from the same Redis state.
 */
describe('webhook circuit breaker across processes', () => {
  let api: RunningApp;
  let workers: SpawnedApp[];
  const sink = new WebhookReceiver();

  beforeAll(async () => {
    [api, ...workers] = await Promise.all([
      startApp({ ...ENV, ROLE: 'api' }),
      spawnApp(ENV, 'dist/src/worker.js'),
      spawnApp(ENV, 'dist/src/worker.js'),
    ]);
    await sink.start();
  });
  afterAll(async () => {
    await Promise.all([api?.close(), ...(workers ?? []).map((w) => w.stop()), sink.stop()]);
  });

  /** A project with a dead endpoint (500) and a healthy one (200), both subscribed. */
  async function project() {
    const t = await createTenant(api);
    expect((await t.http.post(`/projects/${t.projectId}/rules`, RULE)).status).toBe(201);
    const device = await createDevice(t);
    const deadPath = `/dead-${uniq()}`;
    const healthyPath = `/healthy-${uniq()}`;
    const dead = (await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(deadPath, { status: 500 }) })).body;
    const healthy = (await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(healthyPath, { status: 200 }) })).body;
    let events = 0;
    /** One alert event (triggered or resolved, alternately), seen through by the healthy endpoint. */
    const event = async () => {
      events++;
      const temperature = events % 2 ? 95 : 20;
      await t.http.post('/telemetry', { device_external_id: device.external_id, events: [{ ts: new Date((clock += 1000)).toISOString(), data: { temperature } }] });
      await sink.waitFor(healthyPath, events);
    };
    const circuit = async () => (await t.http.get(`/webhooks/${dead.id}/circuit-status`)).body.circuit_breaker;
    return { t, dead, healthy, deadPath, healthyPath, event, circuit };
  }

  const deliveriesTo = async (t: Tenant, webhookId: number) =>
    ((await t.http.get(`/projects/${t.projectId}/webhook-deliveries?limit=1000`)).body as any[]).filter((d) => d.webhook_id === webhookId);

  it('opens after five failures, holds every process back, lets exactly one probe through, and closes on its success', async () => {
    const p = await project();
    for (let i = 0; i < 5; i++) await p.event();
    const open = await eventually(p.circuit, (c) => c.state === 'open');
    expect(open.failures).toBeGreaterThanOrEqual(5);
    expect(Date.parse(open.next_attempt_at) - Date.parse(open.opened_at)).toBe(RESET_MS);
    const status = (await p.t.http.get(`/webhooks/${p.dead.id}/circuit-status`)).body;
    expect(status).toMatchObject({ webhook_id: p.dead.id, url: p.dead.url });

    // While open: no process calls the dead endpoint, the healthy one keeps receiving, and
    // the waiting deliveries spend no attempts.
    const hitsAtOpen = sink.at(p.deadPath).length;
    const attemptsAtOpen = (await deliveriesTo(p.t, p.dead.id)).map((d) => d.attempts);
    await p.event();
    await p.event();
    await sleep(Math.max(0, Date.parse(open.next_attempt_at) - Date.now() - 700));
    expect(sink.at(p.deadPath)).toHaveLength(hitsAtOpen);
    const waiting = await deliveriesTo(p.t, p.dead.id);
    expect(waiting).toHaveLength(7);
    expect(waiting.slice(2).map((d) => d.attempts)).toEqual(attemptsAtOpen);
    expect(waiting.slice(0, 2).map((d) => d.attempts)).toEqual([0, 0]);
    expect(waiting.every((d) => d.status === 'pending' || d.status === 'retrying')).toBe(true);

    // After the reset timeout exactly one probe goes out; it fails, so the circuit re-opens.
    const reopened = await eventually(p.circuit, (c) => c.state === 'open' && c.opened_at !== open.opened_at, RESET_MS + 5000);
    await sleep(500);
    expect(sink.at(p.deadPath)).toHaveLength(hitsAtOpen + 1);
    expect(Date.parse(reopened.opened_at)).toBeGreaterThanOrEqual(Date.parse(open.next_attempt_at));

    // The endpoint recovers: the next probe closes the circuit and everything waiting arrives.
    sink.script(p.deadPath, { status: 200 });
    await eventually(p.circuit, (c) => c.state === 'closed', RESET_MS + 5000);
    const done = await eventually(() => deliveriesTo(p.t, p.dead.id), (ds) => ds.every((d) => d.status === 'success'), 20_000);
    expect(done).toHaveLength(7);
    expect((await p.circuit()).failures).toBe(0);
  });

  it('4xx answers other than 408/429 do not count towards opening', async () => {
    const p = await project();
    sink.script(p.deadPath, { status: 400 });
    for (let i = 0; i < 6; i++) await p.event();
    await eventually(() => deliveriesTo(p.t, p.dead.id), (ds) => ds.length === 6 && ds.every((d) => d.status === 'failed'));
    expect(await p.circuit()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('the reset endpoint closes an open circuit at once and the waiting deliveries go', async () => {
    const p = await project();
    for (let i = 0; i < 5; i++) await p.event();
    const open = await eventually(p.circuit, (c) => c.state === 'open');
    await p.event();
    sink.script(p.deadPath, { status: 200 });
    const resetAt = Date.now();
    const res = await p.t.http.post(`/webhooks/${p.dead.id}/circuit/reset`);
    expect(res.status).toBe(200);
    expect(res.body.circuit_breaker).toEqual({ state: 'closed', failures: 0, opened_at: null, next_attempt_at: null });
    await eventually(() => deliveriesTo(p.t, p.dead.id), (ds) => ds.length === 6 && ds.every((d) => d.status === 'success'));
    // They went because of the reset, at once: within a few seconds of it, and before the next
    // probe was due when the reset came well ahead of that (a busy machine may get there late).
    const took = Date.now() - resetAt;
    expect(took).toBeLessThan(3000);
    if (resetAt + 3000 < Date.parse(open.next_attempt_at)) expect(Date.now()).toBeLessThan(Date.parse(open.next_attempt_at));
  });

  it("while its circuit is open, a webhook's waiting deliveries go back to the queue gathered in a few jobs", async () => {
    const p = await project();
    const devices = await Promise.all(Array.from({ length: 12 }, () => createDevice(p.t)));
    for (let i = 0; i < 5; i++) await p.event();
    const open = await eventually(p.circuit, (c) => c.state === 'open');
    const hitsAtOpen = sink.at(p.deadPath).length;
    const before = Math.max(...(await deliveriesTo(p.t, p.dead.id)).map((d) => d.id));
    // Twelve devices run hot at once: twelve alert changes, each queueing its own job per webhook.
    const ts = new Date((clock += 1000)).toISOString();
    await Promise.all(devices.map((d) => p.t.http.post('/telemetry', { device_external_id: d.external_id, events: [{ ts, data: { temperature: 95 } }] })));
    await sink.waitFor(p.healthyPath, 5 + 12);
    const fresh = (await eventually(() => deliveriesTo(p.t, p.dead.id), (ds) => ds.filter((d) => d.id > before).length === 12))
      .filter((d) => d.id > before)
      .map((d) => d.id);

    // Each of those jobs finds the circuit open; what they hold back waits in a few jobs (one
    // group per worker, or two if they straddle a 200 ms window), also after each probe has
    // been refused and the rest waits again. One job per alert change would make twelve.
    const redis = new Redis(process.env.REDIS_URL!);
    const queue = `${process.env.REDIS_PREFIX}:webhook-delivery`;
    const waitingJobs = async () => {
      const ids = await redis.zrange(`${queue}:delayed`, 0, -1);
      const data = await Promise.all(ids.map((id) => redis.hget(`${queue}:${id}`, 'data')));
      return data.flatMap((d) => (d ? [JSON.parse(d) as { webhookId: number; deliveryIds: number[] }] : [])).filter((j) => j.deliveryIds.some((id) => fresh.includes(id)));
    };
    try {
      const jobs = await eventually(waitingJobs, (js) => js.length <= 4 && fresh.every((id) => js.some((j) => j.deliveryIds.includes(id))));
      expect(jobs.every((j) => j.webhookId === p.dead.id)).toBe(true);
    } finally {
      redis.disconnect();
    }
    // Nothing went to the dead endpoint for them but the circuit's probes: one per reset interval.
    const intervals = Math.ceil((Date.now() - Date.parse(open.opened_at)) / RESET_MS);
    expect(sink.at(p.deadPath).length - hitsAtOpen).toBeLessThanOrEqual(intervals);
  });

  it('a delivery whose job was lost (crash between commit and enqueue) is sent by the sweeper', async () => {
    const p = await project();
    await p.event(); // an open alert, delivered to both endpoints
    const [alert] = (await p.t.http.get(`/projects/${p.t.projectId}/alerts?status=open`)).body;
    await Promise.all(workers.map((w) => w.stop()));
    // The operator's resolve writes the delivery and queues it; then the queue loses it.
    expect((await p.t.http.post(`/alerts/${alert.id}/resolve`)).status).toBe(200);
    const redis = new Redis(process.env.REDIS_URL!);
    const keys = await redis.keys(`${process.env.REDIS_PREFIX}:webhook-delivery:*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    redis.disconnect();
    workers = [await spawnApp(ENV, 'dist/src/worker.js')];
    const [, resolved] = await sink.waitFor(p.healthyPath, 2, 30_000);
    expect(resolved.json).toMatchObject({ event: 'alert.resolved', alert_id: alert.id });
  });
});
