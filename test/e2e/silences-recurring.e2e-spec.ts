import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { openDb } from '../support/telemetry';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { eventually, WebhookReceiver } from '../support/webhook-receiver';

/** Workers sweep stranded deliveries often, so a job lost with a killed worker comes back soon. */
const ENV = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_SWEEP_INTERVAL_MS: '1000' };
const ZONE = 'Asia/Kolkata';
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
let clock = Date.UTC(2026, 10, 2);

/** The local weekday and "HH:MM" of an instant in a zone. */
function local(t: number, zone: string): { day: string; hhmm: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(t))
      .map((p) => [p.type, p.value]),
  );
  return { day: parts.weekday.toLowerCase(), hhmm: `${parts.hour}:${parts.minute}` };
}

/**
 * A recurring window that starts a few seconds from now (windows start on whole minutes),
 * with an api process and two workers, one of them killed and replaced the moment the window
 * ends: the alert muted inside is delivered once.
 */
describe('a recurring silence across processes', () => {
  let api: RunningApp;
  let db: Pool;
  const workers: SpawnedApp[] = [];
  const sink = new WebhookReceiver();

  beforeAll(async () => {
    [api] = await Promise.all([startApp({ ...ENV, ROLE: 'api' }), sink.start()]);
    for (let i = 0; i < 2; i++) workers.push(await spawnApp(ENV, 'dist/src/worker.js'));
    db = openDb();
  });
  afterAll(async () => {
    await Promise.all([api?.close(), sink.stop(), db?.end(), ...workers.map((w) => w.stop())]);
  });

  const reading = async (t: Tenant, externalId: string, temperature: number) =>
    expect((await t.http.post('/telemetry', { device_external_id: externalId, events: [{ ts: new Date((clock += 1000)).toISOString(), data: { temperature } }] })).status).toBe(202);
  const alertsOf = (t: Tenant, deviceId: number, status: string) =>
    eventually(async () => (await t.http.get(`/projects/${t.projectId}/alerts?device_id=${deviceId}&status=${status}`)).body as any[], (xs) => xs.length >= 1, 60_000);
  const deliveryEvents = async (alertId: number) =>
    (await db.query(`SELECT event FROM webhook_deliveries WHERE alert_id = $1 ORDER BY id`, [alertId])).rows.map((r) => r.event);
  const received = (path: string, alertId: number) => sink.at(path).filter((r) => r.json?.alert_id === alertId);

  it('mutes inside its window only, and delivers the held alert once when the window ends, across a worker restart', async () => {
    const t = await createTenant(api);
    const rule = await t.http.post(`/projects/${t.projectId}/rules`, { name: 'hot', metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0 });
    expect(rule.status).toBe(201);
    const [d1, d2] = [await createDevice(t), await createDevice(t)];
    const path = `/hook-${randomBytes(4).toString('hex')}`;
    expect((await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(path, { status: 200 }) })).status).toBe(201);

    // The workers know the project (and that it has no silence) before any silence exists.
    await reading(t, d1.external_id, 95);
    const [first] = await alertsOf(t, d1.id, 'firing');
    await sink.waitFor(path, 1);
    await reading(t, d1.external_id, 20);
    await alertsOf(t, d1.id, 'resolved');
    await sink.waitFor(path, 2);

    // A silence made through the api process reaches the workers' caches at once.
    const quick = await t.http.post(`/projects/${t.projectId}/silences`, { matchers: { device_ids: [d1.id] }, ends_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(quick.status).toBe(201);
    await reading(t, d1.external_id, 96);
    const muted = (await alertsOf(t, d1.id, 'firing')).find((a) => a.id !== first.id);
    expect(muted.silenced_by).toEqual([quick.body.id]);
    expect(await deliveryEvents(muted.id)).toEqual([]);
    expect((await t.http.delete(`/silences/${quick.body.id}`)).status).toBe(204);
    await eventually(async () => received(path, muted.id).length, (n) => n === 1);

    // The window: the next whole minute at least 8 s away, for one minute, in Asia/Kolkata.
    let start = Math.ceil(Date.now() / 60_000) * 60_000;
    if (start - Date.now() < 8_000) start += 60_000;
    const end = start + 60_000;
    const { day, hhmm } = local(start, ZONE);
    expect(DAYS).toContain(day);
    const created = await t.http.post(`/projects/${t.projectId}/silences`, {
      matchers: { rule_ids: [rule.body.id] },
      recurrence: { days: [day], start: hhmm, duration_minutes: 1, timezone: ZONE },
      comment: 'a minute of maintenance',
    });
    expect(created.status).toBe(201);
    const s = created.body;
    expect(s).toMatchObject({ state: 'pending', ends_at: null, recurrence: { days: [day], start: hhmm, duration_minutes: 1, timezone: ZONE } });

    // Before the window: d2 notifies as usual.
    await reading(t, d2.external_id, 95);
    const [before] = await alertsOf(t, d2.id, 'firing');
    if (Date.parse(before.triggered_at) < start - 500) {
      expect(before.silenced_by).toEqual([]);
      await eventually(async () => received(path, before.id).length, (n) => n === 1);
    }
    await reading(t, d2.external_id, 20);
    await alertsOf(t, d2.id, 'resolved');

    // Inside the window: muted, still recorded and listed.
    // Polled only from the window's start: a minute of polling would spend the key's rate limit.
    await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now())));
    await eventually(async () => (await t.http.get(`/silences/${s.id}`)).body.state, (state) => state === 'active', 30_000);
    await reading(t, d2.external_id, 97);
    const inside = (await alertsOf(t, d2.id, 'firing')).find((a) => a.id !== before.id);
    expect(inside.silenced_by).toEqual([s.id]);
    expect(await deliveryEvents(inside.id)).toEqual([]);
    expect(received(path, inside.id)).toEqual([]);

    // The moment the window ends, one worker dies and another starts.
    await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
    await workers[0].stop('SIGKILL');
    workers.push(await spawnApp(ENV, 'dist/src/worker.js'));

    const [got] = await eventually(async () => received(path, inside.id), (xs) => xs.length >= 1, 30_000);
    process.stdout.write(`held alert delivered ${got.at - end} ms after the window ended\n`);
    expect(got.json).toMatchObject({ event: 'alert.triggered', alert_id: inside.id, status: 'firing' });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await deliveryEvents(inside.id)).toEqual(['alert.triggered']);
    expect(new Set(received(path, inside.id).map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect((await t.http.get(`/silences/${s.id}`)).body.state).toBe('pending');
    expect((await t.http.get(`/alerts/${inside.id}`)).body.silenced_by).toEqual([]);
  }, 300_000);
});
