import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { readSse } from '../../scripts/local-http';
import { RunningApp, startApp } from '../support/app';
import { openDb } from '../support/telemetry';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { eventually, WebhookReceiver } from '../support/webhook-receiver';

const ENV = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_RETRY_BASE_MS: '200' };
const uniq = () => randomBytes(4).toString('hex');
const HOUR = 3_600_000;
let clock = Date.UTC(2026, 10, 1);

/** Every reading over 80 opens an alert of each rule, every other one resolves it. */
const rule = (severity: string, name = `hot-${severity}`) => ({ name, metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0, severity });

interface Project {
  t: Tenant;
  rules: { critical: number; warning: number };
  devices: { a: { id: number; external_id: string }; b: { id: number; external_id: string }; none: { id: number; external_id: string } };
  path: string;
}

describe('silences', () => {
  let app: RunningApp;
  let db: Pool;
  const sink = new WebhookReceiver();

  beforeAll(async () => {
    [app] = await Promise.all([startApp(ENV), sink.start()]);
    db = openDb();
  });
  afterAll(async () => {
    await Promise.all([app?.close(), sink.stop(), db?.end()]);
  });

  /** A project with a critical and a warning rule, devices tagged site-a, site-b and none, and a webhook. */
  async function project(): Promise<Project> {
    const t = await createTenant(app);
    const critical = await t.http.post(`/projects/${t.projectId}/rules`, rule('critical'));
    const warning = await t.http.post(`/projects/${t.projectId}/rules`, rule('warning'));
    expect([critical.status, warning.status]).toEqual([201, 201]);
    const a = await createDevice(t, { tags: ['site-a'] });
    const b = await createDevice(t, { tags: ['site-b'] });
    const none = await createDevice(t);
    const path = `/hook-${uniq()}`;
    expect((await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script(path, { status: 200 }) })).status).toBe(201);
    return { t, rules: { critical: critical.body.id, warning: warning.body.id }, devices: { a, b, none }, path };
  }

  const reading = async (t: Tenant, externalId: string, temperature: number) =>
    expect((await t.http.post('/telemetry', { device_external_id: externalId, events: [{ ts: new Date((clock += 1000)).toISOString(), data: { temperature } }] })).status).toBe(202);
  const alerts = async (t: Tenant, query = '') => (await t.http.get(`/projects/${t.projectId}/alerts?limit=1000${query}`)).body as any[];
  const alertsOf = (t: Tenant, deviceId: number, n: number, status?: string) =>
    eventually(() => alerts(t, `&device_id=${deviceId}${status ? `&status=${status}` : ''}`), (xs) => xs.length >= n);
  /** Delivery rows are written in the alert change's transaction: once the alert is listed, its deliveries exist. */
  const deliveriesOf = async (t: Tenant, alertId: number) =>
    (await db.query(`SELECT event FROM webhook_deliveries WHERE project_id = $1 AND alert_id = $2 ORDER BY id`, [t.projectId, alertId])).rows.map((r) => r.event);
  const silence = async (t: Tenant, body: Record<string, unknown>) => {
    const res = await t.http.post(`/projects/${t.projectId}/silences`, body);
    expect(res.status).toBe(201);
    return res.body;
  };
  const inOneHour = () => new Date(Date.now() + HOUR).toISOString();
  const received = (path: string, alertId: number) => sink.at(path).filter((r) => r.json?.alert_id === alertId).map((r) => r.json.event);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  describe('the API', () => {
    it('creates, gets, lists, changes and ends a one-off silence', async () => {
      const p = await project();
      const startsAt = new Date(Date.now() - 60_000).toISOString();
      const endsAt = inOneHour();
      const res = await p.t.http.post(`/projects/${p.t.projectId}/silences`, {
        matchers: { rule_ids: [p.rules.critical, p.rules.critical], tags: ['site-a'] },
        starts_at: startsAt,
        ends_at: endsAt,
        comment: 'pump replacement',
        created_by: 'night shift',
      });
      expect(res.status).toBe(201);
      const s = res.body;
      expect(Object.keys(s).sort()).toEqual(['comment', 'created_at', 'created_by', 'ends_at', 'id', 'matchers', 'project_id', 'recurrence', 'starts_at', 'state', 'updated_at'].sort());
      expect(s).toMatchObject({
        project_id: p.t.projectId,
        matchers: { rule_ids: [p.rules.critical], tags: ['site-a'] },
        starts_at: startsAt,
        ends_at: endsAt,
        recurrence: null,
        comment: 'pump replacement',
        created_by: 'night shift',
        state: 'active',
      });
      expect((await p.t.http.get(`/silences/${s.id}`)).body).toEqual(s);

      const pending = await silence(p.t, { matchers: { severities: ['info'] }, starts_at: Math.floor(Date.now() / 1000) + 3600, ends_at: new Date(Date.now() + 2 * HOUR).toISOString() });
      expect(pending.state).toBe('pending');
      const list = await p.t.http.get(`/projects/${p.t.projectId}/silences`);
      expect(list.body.map((x: any) => x.id)).toEqual([pending.id, s.id]);
      expect((await p.t.http.get(`/projects/${p.t.projectId}/silences?state=active`)).body.map((x: any) => x.id)).toEqual([s.id]);
      expect((await p.t.http.get(`/projects/${p.t.projectId}/silences?state=pending`)).body.map((x: any) => x.id)).toEqual([pending.id]);

      const patched = await p.t.http.patch(`/silences/${s.id}`, { comment: 'pump and valve', matchers: { device_ids: [p.devices.b.id] } });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ comment: 'pump and valve', matchers: { device_ids: [p.devices.b.id] }, starts_at: startsAt, ends_at: endsAt, state: 'active' });

      expect((await p.t.http.delete(`/silences/${s.id}`)).status).toBe(204);
      const ended = (await p.t.http.get(`/silences/${s.id}`)).body;
      expect(ended.state).toBe('expired');
      expect(Date.parse(ended.ends_at)).toBeLessThanOrEqual(Date.now());
      expect((await p.t.http.get(`/projects/${p.t.projectId}/silences?state=expired`)).body.map((x: any) => x.id)).toEqual([s.id]);
      expect((await p.t.http.get(`/projects/${p.t.projectId}/silences?state=active`)).body).toEqual([]);
    });

    it('pages with limit and X-Next-Cursor, also under a state filter', async () => {
      const p = await project();
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await silence(p.t, { matchers: { severities: ['info'] }, ends_at: inOneHour() })).id);
      await p.t.http.delete(`/silences/${ids[2]}`);
      const first = await p.t.http.get(`/projects/${p.t.projectId}/silences?state=active&limit=2`);
      expect(first.body.map((x: any) => x.id)).toEqual([ids[4], ids[3]]);
      const cursor = first.headers.get('x-next-cursor');
      expect(cursor).toBeTruthy();
      const second = await p.t.http.get(`/projects/${p.t.projectId}/silences?state=active&limit=2&cursor=${cursor}`);
      expect(second.body.map((x: any) => x.id)).toEqual([ids[1], ids[0]]);
      expect(second.headers.get('x-next-cursor')).toBeNull();
    });

    it('takes a recurring silence in a time zone, with an open-ended series', async () => {
      const p = await project();
      const s = await silence(p.t, {
        matchers: { severities: ['warning'] },
        recurrence: { days: ['tue', 'sat'], start: '02:00', duration_minutes: 120, timezone: 'Europe/Berlin' },
      });
      expect(s).toMatchObject({ ends_at: null, recurrence: { days: ['tue', 'sat'], start: '02:00', duration_minutes: 120, timezone: 'Europe/Berlin' } });
      expect(['pending', 'active']).toContain(s.state);
      // Turned into a one-off by PATCH, it needs an end.
      expect((await p.t.http.patch(`/silences/${s.id}`, { recurrence: null })).status).toBe(422);
      const oneOff = await p.t.http.patch(`/silences/${s.id}`, { recurrence: null, ends_at: inOneHour() });
      expect(oneOff.status).toBe(200);
      expect(oneOff.body).toMatchObject({ recurrence: null, state: 'active' });
    });

    it('validates as the design says: 422 for the schema, 400 for the span, 404 for foreign ids', async () => {
      const p = await project();
      const other = await project();
      const post = (body: unknown) => p.t.http.post(`/projects/${p.t.projectId}/silences`, body);
      const fields = (res: { body: any }) => (res.body.error?.details ?? []).map((d: any) => d.field);
      const ends = inOneHour();
      const recurrence = { days: ['mon'], start: '02:00', duration_minutes: 60, timezone: 'Europe/Berlin' };

      for (const body of [{ ends_at: ends }, { matchers: {}, ends_at: ends }, { matchers: { rule_ids: [], tags: [] }, ends_at: ends }]) {
        const res = await post(body);
        expect(res.status).toBe(422);
        expect(fields(res)).toContain('matchers');
      }
      const noEnd = await post({ matchers: { severities: ['info'] } });
      expect(noEnd.status).toBe(422);
      expect(fields(noEnd)).toEqual(['ends_at']);
      const before = await post({ matchers: { severities: ['info'] }, starts_at: ends, ends_at: new Date(Date.now()).toISOString() });
      expect(before.status).toBe(400);
      expect(before.body.error.code).toBe('SILENCE.ENDS_BEFORE_START');
      expect((await post({ matchers: { severities: ['info'] }, starts_at: ends, ends_at: ends })).status).toBe(400);
      const tooLong = await post({ matchers: { severities: ['info'] }, starts_at: '2027-01-01T00:00:00Z', ends_at: '2027-04-01T00:00:01Z' });
      expect(tooLong.status).toBe(400);
      expect((await post({ matchers: { severities: ['info'] }, starts_at: '2027-01-01T00:00:00Z', ends_at: '2027-04-01T00:00:00Z' })).status).toBe(201);

      const bad: [unknown, string][] = [
        [{ ...recurrence, timezone: 'Mars/Olympus' }, 'recurrence.timezone'],
        [{ ...recurrence, timezone: '+05:30' }, 'recurrence.timezone'],
        [{ ...recurrence, days: ['mon', 'someday'] }, 'recurrence.days'],
        [{ ...recurrence, days: [] }, 'recurrence.days'],
        [{ ...recurrence, start: '24:00' }, 'recurrence.start'],
        [{ ...recurrence, start: '2:00' }, 'recurrence.start'],
        [{ ...recurrence, duration_minutes: 0 }, 'recurrence.duration_minutes'],
        [{ ...recurrence, duration_minutes: 1441 }, 'recurrence.duration_minutes'],
      ];
      for (const [r, field] of bad) {
        const res = await post({ matchers: { severities: ['info'] }, recurrence: r });
        expect(res.status).toBe(422);
        expect(fields(res)).toContain(field);
      }
      const tooMany = await post({ matchers: { device_ids: Array.from({ length: 1001 }, (_, i) => i + 1) }, ends_at: ends });
      expect(tooMany.status).toBe(422);
      expect(fields(tooMany)).toContain('matchers.device_ids');
      expect((await post({ matchers: { severities: ['fatal'] }, ends_at: ends })).status).toBe(422);
      expect((await post({ matchers: { tags: ['x'.repeat(65)] }, ends_at: ends })).status).toBe(422);
      expect((await post({ matchers: { severities: ['info'] }, ends_at: ends, comment: 'c'.repeat(1001) })).status).toBe(422);
      expect((await post({ matchers: { severities: ['info'] }, ends_at: ends, comment: 'c'.repeat(1000) })).status).toBe(201);
      expect((await post({ matchers: { severities: ['info'] }, ends_at: ends, created_by: 'c'.repeat(201) })).status).toBe(422);
      expect((await post({ matchers: { severities: ['info'] }, ends_at: 'yesterday-ish' })).status).toBe(422);

      expect((await post({ matchers: { rule_ids: [other.rules.critical] }, ends_at: ends })).status).toBe(404);
      expect((await post({ matchers: { device_ids: [p.devices.a.id, other.devices.a.id] }, ends_at: ends })).status).toBe(404);
      expect((await p.t.http.post(`/projects/${p.t.projectId}/silences/preview`, { matchers: { rule_ids: [other.rules.critical] } })).status).toBe(404);
      const theirs = await silence(other.t, { matchers: { severities: ['info'] }, ends_at: ends });
      expect((await p.t.http.get(`/silences/${theirs.id}`)).status).toBe(404);
      expect((await p.t.http.patch(`/silences/${theirs.id}`, { comment: 'x' })).status).toBe(404);
      expect((await p.t.http.delete(`/silences/${theirs.id}`)).status).toBe(404);
      expect((await p.t.http.get(`/projects/${other.t.projectId}/silences`)).status).toBe(404);
      const mine = await silence(p.t, { matchers: { severities: ['info'] }, ends_at: ends });
      expect((await p.t.http.patch(`/silences/${mine.id}`, { matchers: { device_ids: [other.devices.b.id] } })).status).toBe(404);
      expect((await p.t.http.patch(`/silences/${mine.id}`, { ends_at: '2020-01-01T00:00:00Z' })).status).toBe(400);
      expect((await p.t.http.get(`/silences/${mine.id}`)).body.matchers).toEqual({ severities: ['info'] });
    });
  });

  describe('matchers', () => {
    /** Which (rule, device) pairs a silence with `matchers` mutes, seen as alerts without deliveries. */
    async function mutedPairs(matchers: (p: Project) => Record<string, unknown>) {
      const p = await project();
      const s = await silence(p.t, { matchers: matchers(p), ends_at: inOneHour() });
      for (const d of Object.values(p.devices)) await reading(p.t, d.external_id, 95);
      const all = await eventually(() => alerts(p.t), (xs) => xs.length === 6);
      const name = (a: any) => {
        const device = Object.entries(p.devices).find(([, d]) => d.id === a.device_id)![0];
        return `${a.rule_id === p.rules.critical ? 'critical' : 'warning'}/${device}`;
      };
      const muted: string[] = [];
      for (const a of all) {
        const sent = await deliveriesOf(p.t, a.id);
        if (sent.length === 0) {
          muted.push(name(a));
          expect(a.silenced_by).toEqual([s.id]);
        } else {
          expect(sent).toEqual(['alert.triggered']);
          expect(a.silenced_by).toEqual([]);
        }
      }
      return muted.sort();
    }

    it('by rule', async () => {
      expect(await mutedPairs((p) => ({ rule_ids: [p.rules.critical] }))).toEqual(['critical/a', 'critical/b', 'critical/none']);
    });

    it('by device', async () => {
      expect(await mutedPairs((p) => ({ device_ids: [p.devices.b.id] }))).toEqual(['critical/b', 'warning/b']);
    });

    it('by tag: the device carries one of them', async () => {
      expect(await mutedPairs(() => ({ tags: ['site-a', 'site-z'] }))).toEqual(['critical/a', 'warning/a']);
    });

    it('by severity', async () => {
      expect(await mutedPairs(() => ({ severities: ['warning'] }))).toEqual(['warning/a', 'warning/b', 'warning/none']);
    });

    it('combined: every given field must match', async () => {
      expect(await mutedPairs(() => ({ tags: ['site-a', 'site-b'], severities: ['critical'] }))).toEqual(['critical/a', 'critical/b']);
      expect(await mutedPairs((p) => ({ rule_ids: [p.rules.warning], device_ids: [p.devices.a.id, p.devices.none.id] }))).toEqual(['warning/a', 'warning/none']);
      expect(await mutedPairs((p) => ({ rule_ids: [p.rules.warning], severities: ['critical'] }))).toEqual([]);
    });

    it('preview lists the rules, devices and open alerts a silence would match now', async () => {
      const p = await project();
      await reading(p.t, p.devices.a.external_id, 95);
      await reading(p.t, p.devices.b.external_id, 95);
      const open = await eventually(() => alerts(p.t), (xs) => xs.length === 4);
      const preview = (matchers: unknown) => p.t.http.post(`/projects/${p.t.projectId}/silences/preview`, { matchers, ends_at: inOneHour() });
      const ids = (xs: any[]) => xs.map((a) => a.id).sort((x, y) => x - y);

      const res = await preview({ tags: ['site-a'], severities: ['critical'] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        rule_ids: [p.rules.critical],
        device_ids: [p.devices.a.id],
        open_alert_ids: ids(open.filter((a) => a.device_id === p.devices.a.id && a.rule_id === p.rules.critical)),
      });
      expect((await preview({ rule_ids: [p.rules.warning] })).body).toEqual({
        rule_ids: [p.rules.warning],
        device_ids: [p.devices.a.id, p.devices.b.id, p.devices.none.id].sort((x, y) => x - y),
        open_alert_ids: ids(open.filter((a) => a.rule_id === p.rules.warning)),
      });
      expect((await preview({})).status).toBe(422);
      // Nothing was created.
      expect((await p.t.http.get(`/projects/${p.t.projectId}/silences`)).body).toEqual([]);
    });
  });

  describe('one-off silences and the notification at their end', () => {
    it('mutes while active; at the end an alert still open is delivered once, one opened and resolved inside sends nothing', async () => {
      const p = await project();
      const warning = (xs: any[]) => xs.filter((a) => a.rule_id === p.rules.warning);
      const s = await silence(p.t, { matchers: { severities: ['warning'] }, ends_at: new Date(Date.now() + 6_000).toISOString() });

      // a: opens inside and stays open. b: opens and resolves inside.
      await reading(p.t, p.devices.a.external_id, 95);
      await reading(p.t, p.devices.b.external_id, 95);
      await alertsOf(p.t, p.devices.b.id, 2, 'firing');
      await reading(p.t, p.devices.b.external_id, 20);
      const [stillOpen] = warning(await alertsOf(p.t, p.devices.a.id, 2));
      const [closed] = warning(await alertsOf(p.t, p.devices.b.id, 2, 'resolved'));
      expect(stillOpen).toMatchObject({ status: 'firing', silenced_by: [s.id] });
      expect(await deliveriesOf(p.t, stillOpen.id)).toEqual([]);
      expect(await deliveriesOf(p.t, closed.id)).toEqual([]);
      // The critical rule is not silenced: its alerts notify as usual.
      const critical = (await alerts(p.t)).filter((a) => a.rule_id === p.rules.critical);
      for (const a of critical) expect(await deliveriesOf(p.t, a.id)).not.toEqual([]);

      const [got] = await eventually(async () => sink.at(p.path).filter((r) => r.json.alert_id === stillOpen.id), (xs) => xs.length >= 1, 30_000);
      expect(got.json).toMatchObject({ event: 'alert.triggered', alert_id: stillOpen.id, status: 'firing', triggered_at: stillOpen.triggered_at, rule_id: p.rules.warning });
      // Exactly once, and nothing for the alert that opened and resolved inside.
      await pause(3_000);
      expect(received(p.path, stillOpen.id)).toEqual(['alert.triggered']);
      expect(await deliveriesOf(p.t, stillOpen.id)).toEqual(['alert.triggered']);
      expect(await deliveriesOf(p.t, closed.id)).toEqual([]);
      expect((await p.t.http.get(`/silences/${s.id}`)).body.state).toBe('expired');
      expect((await p.t.http.get(`/alerts/${stillOpen.id}`)).body.silenced_by).toEqual([]);

      // After the silence, the resolution goes out as usual.
      await reading(p.t, p.devices.a.external_id, 20);
      await eventually(async () => received(p.path, stillOpen.id), (xs) => xs.length === 2);
      expect(received(p.path, stillOpen.id)).toEqual(['alert.triggered', 'alert.resolved']);
    });

    it('DELETE ends the silence at once and re-notifies what is still open', async () => {
      const p = await project();
      const s = await silence(p.t, { matchers: { device_ids: [p.devices.a.id] }, ends_at: inOneHour() });
      // Muted alerts still stream, saying what mutes them.
      const streamed: { type: string; alert: any }[] = [];
      const aborter = new AbortController();
      const stream = await fetch(`${app.url}/alerts/stream`, { headers: { 'X-API-Key': p.t.key }, signal: aborter.signal });
      readSse(stream.body!, ({ type, data }) => void (data !== null && streamed.push({ type, alert: JSON.parse(data) }))).catch(() => undefined);
      // The stream subscribes just after answering its headers.
      await pause(300);
      await reading(p.t, p.devices.a.external_id, 95);
      const open = await alertsOf(p.t, p.devices.a.id, 2);
      const triggered = await eventually(async () => streamed.filter((e) => e.type === 'alert.triggered'), (xs) => xs.length === 2);
      aborter.abort();
      for (const e of triggered) expect(e.alert.silenced_by).toEqual([s.id]);
      for (const a of open) expect(await deliveriesOf(p.t, a.id)).toEqual([]);
      // Acknowledging is not a webhook event, and the silence still holds.
      expect((await p.t.http.post(`/alerts/${open[0].id}/ack`)).body).toMatchObject({ status: 'acknowledged', silenced_by: [s.id] });

      expect((await p.t.http.delete(`/silences/${s.id}`)).status).toBe(204);
      await eventually(async () => open.map((a) => received(p.path, a.id).length), (n) => n.every((x) => x >= 1));
      await pause(2_500);
      for (const a of open) expect(received(p.path, a.id)).toEqual(['alert.triggered']);
      expect(sink.at(p.path).find((r) => r.json.alert_id === open[0].id)!.json.status).toBe('acknowledged');
    });

    it('a PATCH that stops matching re-notifies; a resolution muted after a delivered trigger is sent at the end', async () => {
      const p = await project();
      // Delivered before the silence, resolved during it.
      await reading(p.t, p.devices.b.external_id, 95);
      const before = await alertsOf(p.t, p.devices.b.id, 2);
      await eventually(async () => before.map((a) => received(p.path, a.id).length), (n) => n.every((x) => x === 1));
      const s = await silence(p.t, { matchers: { tags: ['site-a', 'site-b'] }, ends_at: inOneHour() });
      await reading(p.t, p.devices.a.external_id, 95);
      await reading(p.t, p.devices.b.external_id, 20);
      const duringA = await alertsOf(p.t, p.devices.a.id, 2);
      await alertsOf(p.t, p.devices.b.id, 2, 'resolved');
      for (const a of [...duringA, ...before]) expect((await deliveriesOf(p.t, a.id)).filter((e) => e === 'alert.resolved')).toEqual([]);

      // Narrowed to site-b: site-a's open alerts are re-notified, site-b's resolution still waits.
      expect((await p.t.http.patch(`/silences/${s.id}`, { matchers: { tags: ['site-b'] } })).status).toBe(200);
      await eventually(async () => duringA.map((a) => received(p.path, a.id).length), (n) => n.every((x) => x >= 1));
      expect(before.map((a) => received(p.path, a.id))).toEqual([['alert.triggered'], ['alert.triggered']]);

      // Ended by a PATCH of ends_at: the resolutions go out.
      expect((await p.t.http.patch(`/silences/${s.id}`, { ends_at: new Date().toISOString() })).status).toBe(200);
      await eventually(async () => before.map((a) => received(p.path, a.id).length), (n) => n.every((x) => x >= 2));
      await pause(2_500);
      expect(before.map((a) => received(p.path, a.id))).toEqual([
        ['alert.triggered', 'alert.resolved'],
        ['alert.triggered', 'alert.resolved'],
      ]);
      for (const a of duringA) expect(received(p.path, a.id)).toEqual(['alert.triggered']);
    });
  });

  it('exposes silences active per project and the muted deliveries as metrics', async () => {
    const p = await project();
    await silence(p.t, { matchers: { severities: ['critical'] }, ends_at: inOneHour() });
    await silence(p.t, { matchers: { severities: ['info'] }, starts_at: inOneHour(), ends_at: new Date(Date.now() + 2 * HOUR).toISOString() });
    await reading(p.t, p.devices.none.external_id, 95);
    await alertsOf(p.t, p.devices.none.id, 2);
    const text = (await app.http.get('/metrics')).text;
    expect(text).toContain(`watchpost_silences_active{project_id="${p.t.projectId}"} 1`);
    expect(text).toMatch(/watchpost_webhook_deliveries_muted_total\{event="alert.triggered"\} [1-9]/);
  });
});
