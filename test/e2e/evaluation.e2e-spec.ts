import Redis from 'ioredis';
import { RunningApp, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { waitForQueuesIdle } from '../support/queues';
import { createDevice, createTenant, Tenant } from '../support/tenant';

let clock = Date.UTC(2026, 10, 20);
/** Strictly increasing event times, so every batch lands after the previous one. */
const nextTs = () => new Date((clock += 1000)).toISOString();

async function send(t: Tenant, externalId: string, values: unknown[], metric = 'temperature', ts?: string[]) {
  const events = values.map((v, i) => ({ ts: ts?.[i] ?? nextTs(), data: v === undefined ? {} : { [metric]: v } }));
  const res = await t.http.post('/telemetry', { device_external_id: externalId, events });
  expect(res.status).toBe(202);
}

async function alertsOf(t: Tenant, deviceId: number): Promise<any[]> {
  const res = await t.http.get(`/devices/${deviceId}/alerts`);
  expect(res.status).toBe(200);
  return res.body;
}

async function rule(t: Tenant, body: Record<string, unknown>) {
  const res = await t.http.post(`/projects/${t.projectId}/rules`, {
    name: 'overheat',
    metric: 'temperature',
    operator: '>',
    threshold: 80,
    window_n: 5,
    required_k: 3,
    cooldown_seconds: 0,
    ...body,
  });
  expect(res.status).toBe(201);
  return res.body;
}

describe('rule evaluation end to end (temperature > 80, n=5, k=3)', () => {
  let app: RunningApp;
  let t: Tenant;
  let hot: any;

  beforeAll(async () => {
    app = await startApp();
    t = await createTenant(app);
    hot = await rule(t, {});
  });
  afterAll(() => app.close());

  async function scenario(values: unknown[], metric = 'temperature') {
    const device = await createDevice(t);
    await send(t, device.external_id, values, metric);
    await waitForQueuesIdle();
    return { device, alerts: await alertsOf(t, device.id) };
  }

  it('85 ×5 fires one alert whose details follow DESIGN', async () => {
    const { device, alerts } = await scenario([85, 85, 85, 85, 85]);
    expect(alerts).toHaveLength(1);
    const a = alerts[0];
    expect(a).toMatchObject({ project_id: t.projectId, device_id: device.id, rule_id: hot.id, status: 'firing', severity: 'warning', acknowledged_at: null, resolved_at: null });
    expect(a.triggered_at).toMatch(/Z$/);
    expect(a.details).toEqual({
      rule: {
        id: hot.id,
        name: 'overheat',
        metric: 'temperature',
        operator: '>',
        threshold: 80,
        window_n: 5,
        required_k: 3,
        cooldown_seconds: 0,
        scope: 'ALL',
        tag: null,
        type: 'threshold',
        for_seconds: 0,
        clear_threshold: null,
        no_data_seconds: null,
      },
      evaluation: { device_id: device.id, match_count: 5, considered: 5, latest_value: 85, latest_ts: expect.stringMatching(/Z$/) },
    });
    expect((await t.http.get(`/alerts/${a.id}`)).body).toEqual(a);
  });

  it('75 ×5 does not fire', async () => {
    expect((await scenario([75, 75, 75, 75, 75])).alerts).toHaveLength(0);
  });

  it('85,75,90,70,95 fires', async () => {
    const { alerts } = await scenario([85, 75, 90, 70, 95]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].details.evaluation).toMatchObject({ match_count: 3, latest_value: 95 });
  });

  it('85,75,70,70,90 does not fire', async () => {
    expect((await scenario([85, 75, 70, 70, 90])).alerts).toHaveLength(0);
  });

  it('three readings do not fire (the window is not full)', async () => {
    expect((await scenario([95, 95, 95])).alerts).toHaveLength(0);
  });

  it('readings with only humidity do not fire', async () => {
    expect((await scenario([95, 95, 95, 95, 95], 'humidity')).alerts).toHaveLength(0);
  });

  it('five more breaches while open leave one alert', async () => {
    const { device } = await scenario([85, 85, 85, 85, 85]);
    for (let i = 0; i < 5; i++) await send(t, device.external_id, [90]);
    await waitForQueuesIdle();
    const alerts = await alertsOf(t, device.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].status).toBe('firing');
  });

  it('a late reading that completes the window fires', async () => {
    const device = await createDevice(t);
    const times = Array.from({ length: 5 }, nextTs);
    await send(t, device.external_id, [90, 70, 90, 70], 'temperature', times.slice(1));
    await waitForQueuesIdle();
    expect(await alertsOf(t, device.id)).toHaveLength(0);
    // Arrives last but is the oldest: it takes its place by event time and makes 3 of 5.
    await send(t, device.external_id, [99], 'temperature', [times[0]]);
    await waitForQueuesIdle();
    const alerts = await alertsOf(t, device.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].details.evaluation).toMatchObject({ match_count: 3, latest_value: 70 });
  });

  it('resolves by itself when a later evaluation finds the condition gone, then may fire again', async () => {
    const { device } = await scenario([85, 85, 85, 85, 85]);
    await send(t, device.external_id, [20, 20, 20]);
    await waitForQueuesIdle();
    let alerts = await alertsOf(t, device.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].status).toBe('resolved');
    expect(alerts[0].resolved_at).toMatch(/Z$/);
    await send(t, device.external_id, [95, 95, 95]);
    await waitForQueuesIdle();
    alerts = await alertsOf(t, device.id);
    expect(alerts.map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it("a device's evaluation generation lapses in Redis a week after its last evaluation, and evaluation goes on after it lapsed", async () => {
    const { device } = await scenario([85, 85, 85, 85, 85]);
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      const key = `${process.env.REDIS_PREFIX}:eval-gen:${device.id}`;
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(6 * 24 * 3600_000);
      expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600_000);
      // As if the week had passed: the next readings are evaluated all the same.
      await redis.del(key);
      await send(t, device.external_id, [20, 20, 20]);
      await waitForQueuesIdle();
      expect((await alertsOf(t, device.id)).map((a) => a.status)).toEqual(['resolved']);
      expect(await redis.pttl(key)).toBeGreaterThan(6 * 24 * 3600_000);
    } finally {
      redis.disconnect();
    }
  });

  it('ack keeps the alert open and single; an operator can resolve it', async () => {
    const { device, alerts } = await scenario([85, 85, 85, 85, 85]);
    const ack = await t.http.post(`/alerts/${alerts[0].id}/ack`);
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ id: alerts[0].id, status: 'acknowledged', acknowledged_at: expect.stringMatching(/Z$/) });
    await send(t, device.external_id, [99, 99]);
    await waitForQueuesIdle();
    expect((await alertsOf(t, device.id)).map((a) => a.status)).toEqual(['acknowledged']);
    const resolved = await t.http.post(`/alerts/${alerts[0].id}/resolve`);
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolved_at: expect.stringMatching(/Z$/) });
    expect((await t.http.post(`/alerts/${alerts[0].id}/ack`)).status).toBe(409);
  });

  it('filters the project alert list by status, device and rule, with cursor paging', async () => {
    const all = await t.http.get(`/projects/${t.projectId}/alerts?rule_id=${hot.id}`);
    expect(all.status).toBe(200);
    expect(all.body.length).toBeGreaterThanOrEqual(5);
    const firing = (await t.http.get(`/projects/${t.projectId}/alerts?status=firing`)).body;
    expect(firing.length).toBeGreaterThan(0);
    expect(firing.every((a: any) => a.status === 'firing')).toBe(true);
    const one = all.body[0];
    const byDevice = (await t.http.get(`/projects/${t.projectId}/alerts?device_id=${one.device_id}`)).body;
    expect(byDevice.every((a: any) => a.device_id === one.device_id)).toBe(true);
    const seen: number[] = [];
    let cursor = '';
    for (;;) {
      const page = await t.http.get(`/projects/${t.projectId}/alerts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.map((a: any) => a.id));
      const next = page.headers.get('x-next-cursor');
      if (!next) break;
      cursor = next;
    }
    const ids = (await t.http.get(`/projects/${t.projectId}/alerts?limit=1000`)).body.map((a: any) => a.id);
    expect(seen).toEqual(ids);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });
});

describe('rule scopes, cooldown and enablement', () => {
  let app: RunningApp;
  beforeAll(async () => (app = await startApp()));
  afterAll(() => app.close());

  it('a TAG rule fires only for devices carrying the tag', async () => {
    const t = await createTenant(app);
    await rule(t, { scope: 'TAG', tag: 'boiler' });
    const tagged = await createDevice(t, { tags: ['boiler'] });
    const other = await createDevice(t, { tags: ['fridge'] });
    await send(t, tagged.external_id, [90, 90, 90, 90, 90]);
    await send(t, other.external_id, [90, 90, 90, 90, 90]);
    await waitForQueuesIdle();
    expect(await alertsOf(t, tagged.id)).toHaveLength(1);
    expect(await alertsOf(t, other.id)).toHaveLength(0);
  });

  it('an EXPLICIT rule fires only for assigned devices; assignment replaces the set', async () => {
    const t = await createTenant(app);
    const r = await rule(t, { scope: 'EXPLICIT' });
    const a = await createDevice(t);
    const b = await createDevice(t);
    expect((await t.http.post(`/rules/${r.id}/devices`, { device_ids: [b.id] })).status).toBe(204);
    expect((await t.http.post(`/rules/${r.id}/devices`, { device_ids: [a.id, a.id] })).status).toBe(204);
    await send(t, a.external_id, [90, 90, 90, 90, 90]);
    await send(t, b.external_id, [90, 90, 90, 90, 90]);
    await waitForQueuesIdle();
    expect(await alertsOf(t, a.id)).toHaveLength(1);
    expect(await alertsOf(t, b.id)).toHaveLength(0);
  });

  it('within the cooldown a resolved pair does not fire again', async () => {
    const t = await createTenant(app);
    await rule(t, { cooldown_seconds: 3600 });
    const d = await createDevice(t);
    await send(t, d.external_id, [90, 90, 90, 90, 90]);
    await waitForQueuesIdle();
    await send(t, d.external_id, [10, 10, 10, 10, 10]);
    await waitForQueuesIdle();
    await send(t, d.external_id, [90, 90, 90, 90, 90]);
    await waitForQueuesIdle();
    const alerts = await alertsOf(t, d.id);
    expect(alerts.map((x) => x.status)).toEqual(['resolved']);
  });

  it('every operator fires on its side of the threshold only', async () => {
    const t = await createTenant(app);
    const ops: [string, number, number][] = [
      ['>', 50, 51],
      ['>=', 50, 50],
      ['<', 50, 49],
      ['<=', 50, 50],
    ];
    for (const [operator, threshold, firing] of ops) {
      const metric = `m${ops.findIndex((o) => o[0] === operator)}`;
      await rule(t, { name: operator, metric, operator, threshold, window_n: 1, required_k: 1 });
      const yes = await createDevice(t);
      const no = await createDevice(t);
      const notFiring = operator.startsWith('>') ? threshold - (operator === '>' ? 0 : 1) : threshold + (operator === '<' ? 0 : 1);
      await send(t, yes.external_id, [firing], metric);
      await send(t, no.external_id, [notFiring], metric);
      await waitForQueuesIdle();
      expect(await alertsOf(t, yes.id)).toHaveLength(1);
      expect(await alertsOf(t, no.id)).toHaveLength(0);
    }
  });

  it('a disabled rule never fires, and PATCH that would break k ≤ n is refused', async () => {
    const t = await createTenant(app);
    const r = await rule(t, { enabled: false });
    const d = await createDevice(t);
    await send(t, d.external_id, [90, 90, 90, 90, 90]);
    await waitForQueuesIdle();
    expect(await alertsOf(t, d.id)).toHaveLength(0);
    const bad = await t.http.patch(`/rules/${r.id}`, { required_k: 6 });
    expect(bad.status).toBe(400);
    expect((await t.http.get(`/rules/${r.id}`)).body.required_k).toBe(3);
  });

  it("a rule whose alert cannot be written does not stop the device's other rules", async () => {
    const t = await createTenant(app);
    const broken = await rule(t, { name: 'broken' });
    const sound = await rule(t, { name: 'sound' });
    const d = await createDevice(t);
    // A fault injected below the API: Postgres refuses the broken rule's alerts (as it would a
    // corrupt row or a failed constraint), so the first pass over the device fails.
    const db = await connectDb();
    await db.query(`CREATE FUNCTION refuse_alert_${broken.id}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await db.query(`CREATE TRIGGER refuse_alert_${broken.id} BEFORE INSERT ON alerts FOR EACH ROW WHEN (NEW.rule_id = ${broken.id}) EXECUTE FUNCTION refuse_alert_${broken.id}()`);
    try {
      await send(t, d.external_id, [90, 90, 90, 90, 90]);
      await waitForQueuesIdle();
      expect((await alertsOf(t, d.id)).map((a) => a.rule_id)).toEqual([sound.id]);
    } finally {
      await db.query(`DROP TRIGGER refuse_alert_${broken.id} ON alerts`);
      await db.query(`DROP FUNCTION refuse_alert_${broken.id}()`);
      await db.end();
    }
    // The refusal lifted, the next evaluation opens the broken rule's alert too.
    await send(t, d.external_id, [90]);
    await waitForQueuesIdle();
    expect((await alertsOf(t, d.id)).map((a) => a.rule_id).sort((x, y) => x - y)).toEqual([broken.id, sound.id]);
  });
});
