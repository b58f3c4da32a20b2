import Redis from 'ioredis';
import { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { waitForQueuesIdle } from '../support/queues';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { waitFor } from '../support/telemetry';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let clock = Date.UTC(2026, 10, 23);
const nextTs = () => new Date((clock += 1000)).toISOString();

async function send(t: Tenant, externalId: string, data: Record<string, unknown>, ts = nextTs()) {
  const res = await t.http.post('/telemetry', { device_external_id: externalId, events: [{ ts, data }] });
  expect(res.status).toBe(202);
}
const alertsOf = async (t: Tenant, deviceId: number) => (await t.http.get(`/devices/${deviceId}/alerts`)).body as any[];
const lastArrival = async (t: Tenant, deviceId: number) =>
  new Date((await t.http.get(`/telemetry/devices/${deviceId}/telemetry/latest`)).body.received_at).getTime();
const waitForAlerts = (t: Tenant, deviceId: number, n = 1) =>
  waitFor(() => alertsOf(t, deviceId), (a) => a.length >= n, { what: `${n} alert(s) of device ${deviceId}`, timeoutMs: 40_000 });

async function noDataRule(t: Tenant, body: Record<string, unknown> = {}) {
  const res = await t.http.post(`/projects/${t.projectId}/rules`, { name: 'quiet', type: 'no_data', metric: 'temperature', no_data_seconds: 5, cooldown_seconds: 0, ...body });
  expect(res.status).toBe(201);
  return res.body;
}

describe('no-data rules, end to end', () => {
  let app: RunningApp;
  let db: Client;
  let redis: Redis;

  beforeAll(async () => {
    app = await startApp();
    db = await connectDb();
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    redis.disconnect();
    await db.end();
    await app.close();
  });

  it('a device that reports and stops alerts no_data_seconds after its last reading, not before; a reading resolves it', async () => {
    const t = await createTenant(app);
    const rule = await noDataRule(t);
    const device = await createDevice(t);
    await send(t, device.external_id, { temperature: 20 });
    await waitForQueuesIdle();
    const arrived = await lastArrival(t, device.id);
    await sleep(1_000);
    expect(await alertsOf(t, device.id)).toHaveLength(0);

    const [alert] = await waitForAlerts(t, device.id);
    expect(alert).toMatchObject({ device_id: device.id, rule_id: rule.id, status: 'firing', severity: 'warning', resolved_at: null });
    expect(alert.details).toEqual({
      rule: {
        id: rule.id, name: 'quiet', metric: 'temperature', operator: null, threshold: null, window_n: null, required_k: null,
        cooldown_seconds: 0, scope: 'ALL', tag: null, type: 'no_data', for_seconds: null, clear_threshold: null, no_data_seconds: 5,
      },
      evaluation: { device_id: device.id, last_reading_at: new Date(arrived).toISOString(), silent_seconds: expect.any(Number) },
    });
    expect(alert.details.evaluation.silent_seconds).toBeGreaterThanOrEqual(5);
    const lag = new Date(alert.triggered_at).getTime() - (arrived + 5_000);
    expect(lag).toBeGreaterThanOrEqual(0);
    process.stdout.write(`no-data: opened ${lag} ms after due\n`);
    await sleep(1_500);
    expect(await alertsOf(t, device.id)).toHaveLength(1);

    await send(t, device.external_id, { temperature: 21 });
    await waitForQueuesIdle();
    const resolved = (await t.http.get(`/alerts/${alert.id}`)).body;
    expect(resolved.status).toBe('resolved');
    // The reading started a new silence: it alerts again when that one runs out.
    const again = await waitForAlerts(t, device.id, 2);
    expect(again.filter((a) => a.status === 'firing')).toHaveLength(1);
  });

  it('per metric: readings of another metric do not keep it quiet; metric null: any reading does', async () => {
    const t = await createTenant(app);
    const device = await createDevice(t, { tags: ['humid'] });
    const perMetric = await noDataRule(t, { scope: 'TAG', tag: 'humid' });
    const anyMetric = await noDataRule(t, { name: 'any', metric: null, scope: 'TAG', tag: 'humid' });
    const started = Date.now();
    // Humidity only, every half second, for 8 s: past the deadline of both rules.
    while (Date.now() - started < 8_000) {
      await send(t, device.external_id, { humidity: 50 });
      await sleep(500);
    }
    await waitForQueuesIdle();
    const alerts = await waitForAlerts(t, device.id);
    expect(alerts.map((a) => a.rule_id)).toEqual([perMetric.id]);
    expect(alerts[0].details.evaluation.last_reading_at).toBeNull();
    // A reading whose metric is null does not count for the metric either.
    await send(t, device.external_id, { temperature: null });
    await waitForQueuesIdle();
    expect((await t.http.get(`/alerts/${alerts[0].id}`)).body.status).toBe('firing');
    expect((await alertsOf(t, device.id)).filter((a) => a.rule_id === anyMetric.id)).toHaveLength(0);
  });

  it('a device that never reports alerts no_data_seconds after it came under the rule', async () => {
    const t = await createTenant(app);
    const device = await createDevice(t);
    const rule = await noDataRule(t, { metric: null });
    const [alert] = await waitForAlerts(t, device.id);
    expect(alert.rule_id).toBe(rule.id);
    expect(alert.details.evaluation).toEqual({ device_id: device.id, last_reading_at: null, silent_seconds: expect.any(Number) });
    expect(new Date(alert.triggered_at).getTime() - new Date(rule.created_at).getTime()).toBeGreaterThanOrEqual(5_000);
  });

  it('a disabled rule, a deleted device and a device whose tag was removed get no alert; re-enabling starts the clock again', async () => {
    const t = await createTenant(app);
    const tagged = await createDevice(t, { tags: ['watched'] });
    const doomed = await createDevice(t, { tags: ['watched'] });
    const idle = await createDevice(t, { tags: ['idle'] });
    const tagRule = await noDataRule(t, { scope: 'TAG', tag: 'watched', metric: null });
    const disabled = await noDataRule(t, { scope: 'TAG', tag: 'idle', metric: null });
    expect((await t.http.patch(`/rules/${disabled.id}`, { enabled: false })).status).toBe(200);
    expect((await t.http.delete(`/projects/${t.projectId}/devices/${tagged.id}/tags`, { tags: ['watched'] })).status).toBe(200);
    expect((await t.http.delete(`/projects/${t.projectId}/devices/${doomed.id}`)).status).toBe(204);
    const { rows } = await db.query(`SELECT rule_id, device_id FROM rule_deadlines WHERE rule_id = ANY($1::bigint[])`, [[tagRule.id, disabled.id]]);
    expect(rows).toEqual([]);
    await sleep(7_000);
    expect(await alertsOf(t, tagged.id)).toHaveLength(0);
    expect(await alertsOf(t, idle.id)).toHaveLength(0);
    const all = (await t.http.get(`/projects/${t.projectId}/alerts`)).body;
    expect(all).toHaveLength(0);
    // Enabled again: the device came under the rule now, and alerts 5 s later.
    const enabled = await t.http.patch(`/rules/${disabled.id}`, { enabled: true });
    const [alert] = await waitForAlerts(t, idle.id);
    expect(new Date(alert.triggered_at).getTime() - new Date(enabled.body.updated_at).getTime()).toBeGreaterThanOrEqual(5_000);
    // The tag added back brings the device under the rule again.
    expect((await t.http.post(`/projects/${t.projectId}/devices/${tagged.id}/tags`, { tags: ['watched'] })).status).toBe(200);
    await waitForAlerts(t, tagged.id);
  });

  it('an assignment brings a device under an EXPLICIT rule; removing it takes the deadline away', async () => {
    const t = await createTenant(app);
    const [kept, dropped] = [await createDevice(t), await createDevice(t)];
    const rule = await noDataRule(t, { scope: 'EXPLICIT', metric: null });
    expect((await t.http.post(`/rules/${rule.id}/devices`, { device_ids: [kept.id, dropped.id] })).status).toBe(204);
    expect((await t.http.post(`/rules/${rule.id}/devices`, { device_ids: [kept.id] })).status).toBe(204);
    await waitForAlerts(t, kept.id);
    await sleep(1_000);
    expect(await alertsOf(t, dropped.id)).toHaveLength(0);
  });

  it('readings of a project without threshold rules are not evaluated, but for the one that ends an open no-data alert; a threshold rule added later is', async () => {
    const t = await createTenant(app);
    const device = await createDevice(t);
    const other = await createTenant(app);
    const bare = await createDevice(other);
    // How many evaluation jobs a device has had (each bumps its generation in Redis).
    const evaluations = async (deviceId: number) => Number((await redis.get(`${process.env.REDIS_PREFIX}:eval-gen:${deviceId}`)) ?? 0);
    await noDataRule(t);
    for (let i = 0; i < 3; i++) await send(t, device.external_id, { temperature: 20 + i });
    await send(other, bare.external_id, { temperature: 20 });
    await waitForQueuesIdle();
    expect(await evaluations(device.id)).toBe(0);
    expect(await evaluations(bare.id)).toBe(0);

    // The alert opens by the timer; the next reading resolves it through an evaluation.
    const [alert] = await waitForAlerts(t, device.id);
    await send(t, device.external_id, { temperature: 21 });
    await waitFor(() => t.http.get(`/alerts/${alert.id}`).then((r) => r.body.status), (s) => s === 'resolved', { what: 'the alert resolved by a reading' });
    expect(await evaluations(device.id)).toBe(1);

    const hot = { name: 'hot', metric: 'temperature', operator: '>', threshold: 50, window_n: 1, required_k: 1, cooldown_seconds: 0 };
    const rule = (await t.http.post(`/projects/${t.projectId}/rules`, hot)).body;
    await send(t, device.external_id, { temperature: 90 });
    const fired = await waitFor(() => alertsOf(t, device.id), (a) => a.some((x) => x.rule_id === rule.id), { what: 'the threshold alert' });
    expect(fired.filter((x) => x.rule_id === rule.id)).toHaveLength(1);
    expect(await evaluations(device.id)).toBe(2);
  });

  it('a backfill of old readings counts as data arriving', async () => {
    const t = await createTenant(app);
    await noDataRule(t);
    const device = await createDevice(t);
    await send(t, device.external_id, { temperature: 20 });
    await waitForQueuesIdle();
    await sleep(3_000);
    await send(t, device.external_id, { temperature: 19 }, '2025-01-01T00:00:00Z');
    await waitForQueuesIdle();
    const backfilled = await lastArrival(t, device.id).catch(() => 0);
    const { rows } = await db.query(`SELECT max(received_at) AS at FROM readings WHERE device_id = $1`, [device.id]);
    const arrived = new Date(rows[0].at).getTime();
    const [alert] = await waitForAlerts(t, device.id);
    expect(new Date(alert.triggered_at).getTime() - arrived).toBeGreaterThanOrEqual(5_000);
    expect(alert.details.evaluation.last_reading_at).toBe(new Date(arrived).toISOString());
    expect(backfilled).toBeLessThan(arrived);
  });
});

describe('no-data rules with several worker processes', () => {
  let api: RunningApp;
  let workers: SpawnedApp[] = [];
  let t: Tenant;
  const startWorker = () => spawnApp({}, 'dist/src/worker.js');

  beforeAll(async () => {
    [api, ...workers] = await Promise.all([startApp({ ROLE: 'api' }), startWorker(), startWorker()]);
    t = await createTenant(api);
  });
  afterAll(async () => {
    await Promise.all([api.close(), ...workers.map((w) => w.stop())]);
  });

  it('two workers open exactly one alert per (rule, device)', async () => {
    const devices = await Promise.all(Array.from({ length: 30 }, () => createDevice(t, { tags: ['pair'] })));
    const rule = await noDataRule(t, { scope: 'TAG', tag: 'pair', metric: null });
    await Promise.all(devices.map((d) => send(t, d.external_id, { v: 1 })));
    await waitFor(
      async () => (await t.http.get(`/projects/${t.projectId}/alerts?rule_id=${rule.id}&limit=1000`)).body as any[],
      (a) => a.length >= devices.length,
      { what: 'one alert per device', timeoutMs: 60_000 },
    );
    await sleep(2_000);
    const alerts: any[] = (await t.http.get(`/projects/${t.projectId}/alerts?rule_id=${rule.id}&limit=1000`)).body;
    expect(alerts.map((a) => a.device_id).sort()).toEqual(devices.map((d) => d.id).sort());
  });

  it('a worker killed while deadlines are pending, and restarted, still fires each once', async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    const devices = await Promise.all(Array.from({ length: 10 }, () => createDevice(t, { tags: ['restart'] })));
    const rule = await noDataRule(t, { scope: 'TAG', tag: 'restart', metric: null });
    // No worker runs while the deadlines come due.
    await sleep(6_000);
    expect((await t.http.get(`/projects/${t.projectId}/alerts?rule_id=${rule.id}`)).body).toHaveLength(0);
    workers = [await startWorker()];
    const alerts = await waitFor(
      async () => (await t.http.get(`/projects/${t.projectId}/alerts?rule_id=${rule.id}&limit=1000`)).body as any[],
      (a) => a.length >= devices.length,
      { what: 'the pending deadlines to fire', timeoutMs: 90_000 },
    );
    await sleep(2_000);
    const after: any[] = (await t.http.get(`/projects/${t.projectId}/alerts?rule_id=${rule.id}&limit=1000`)).body;
    expect(after.map((a) => a.device_id).sort()).toEqual(devices.map((d) => d.id).sort());
    expect(alerts.every((a) => a.status === 'firing')).toBe(true);
  });
});
