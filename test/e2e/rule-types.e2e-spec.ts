import { RunningApp, startApp } from '../support/app';
import { expectError, fieldsOf } from '../support/errors';
import { waitForQueuesIdle } from '../support/queues';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { waitFor } from '../support/telemetry';

const THRESHOLD = { name: 'overheat', metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0 };
const NO_DATA = { name: 'quiet', type: 'no_data', metric: 'temperature', no_data_seconds: 60 };

let clock = Date.UTC(2026, 10, 22);
const nextTs = () => new Date((clock += 1000)).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rule types: fields and validation', () => {
  let app: RunningApp;
  let t: Tenant;

  beforeAll(async () => {
    app = await startApp({ ROLE: 'api' });
    t = await createTenant(app);
  });
  afterAll(() => app.close());

  const create = (body: Record<string, unknown>) => t.http.post(`/projects/${t.projectId}/rules`, body);

  it('a threshold rule defaults to type threshold, for_seconds 0, clear_threshold and no_data_seconds null', async () => {
    const res = await create(THRESHOLD);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ type: 'threshold', for_seconds: 0, clear_threshold: null, no_data_seconds: null, operator: '>', threshold: 80 });
    expect(Object.keys(res.body).sort()).toEqual(
      [
        'id', 'project_id', 'name', 'type', 'metric', 'operator', 'threshold', 'window_n', 'required_k', 'for_seconds', 'clear_threshold',
        'no_data_seconds', 'cooldown_seconds', 'enabled', 'scope', 'tag', 'severity', 'created_at', 'updated_at',
      ].sort(),
    );
  });

  it('a no-data rule returns the threshold fields as null; metric may be null', async () => {
    const res = await create(NO_DATA);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'no_data', metric: 'temperature', no_data_seconds: 60,
      operator: null, threshold: null, window_n: null, required_k: null, for_seconds: null, clear_threshold: null,
    });
    const any = await create({ ...NO_DATA, metric: null, operator: null, for_seconds: null });
    expect(any.status).toBe(201);
    expect(any.body.metric).toBeNull();
    const absent = await create({ name: 'any', type: 'no_data', no_data_seconds: 5 });
    expect(absent.status).toBe(201);
    expect((await t.http.get(`/rules/${absent.body.id}`)).body).toEqual(absent.body);
  });

  it.each([
    [{ ...NO_DATA, no_data_seconds: undefined }, 'no_data_seconds'],
    [{ ...NO_DATA, no_data_seconds: 4 }, 'no_data_seconds'],
    [{ ...NO_DATA, no_data_seconds: 604_801 }, 'no_data_seconds'],
    [{ ...NO_DATA, no_data_seconds: 10.5 }, 'no_data_seconds'],
    [{ ...NO_DATA, operator: '>' }, 'operator'],
    [{ ...NO_DATA, threshold: 5 }, 'threshold'],
    [{ ...NO_DATA, window_n: 5 }, 'window_n'],
    [{ ...NO_DATA, required_k: 1 }, 'required_k'],
    [{ ...NO_DATA, for_seconds: 0 }, 'for_seconds'],
    [{ ...NO_DATA, clear_threshold: 3 }, 'clear_threshold'],
    [{ ...THRESHOLD, type: 'silence' }, 'type'],
    [{ ...THRESHOLD, no_data_seconds: 60 }, 'no_data_seconds'],
    [{ ...THRESHOLD, for_seconds: -1 }, 'for_seconds'],
    [{ ...THRESHOLD, for_seconds: 86_401 }, 'for_seconds'],
    [{ ...THRESHOLD, for_seconds: '10' }, 'for_seconds'],
    [{ ...THRESHOLD, clear_threshold: 'low' }, 'clear_threshold'],
    [{ ...THRESHOLD, metric: null }, 'metric'],
  ])('422 for %j naming %s', async (body, field) => {
    expect(fieldsOf(expectError(await create(body), 422))).toEqual([field]);
  });

  it('for_seconds takes 0…86400', async () => {
    expect((await create({ ...THRESHOLD, for_seconds: 86_400 })).body.for_seconds).toBe(86_400);
    expect((await create({ ...NO_DATA, no_data_seconds: 604_800 })).body.no_data_seconds).toBe(604_800);
  });

  it.each([
    ['>', 81],
    ['>=', 80.5],
    ['<', 79],
    ['<=', 79.9],
  ])('clear_threshold on the wrong side of %s 80 is 400', async (operator, clear) => {
    const error = expectError(await create({ ...THRESHOLD, operator, clear_threshold: clear }), 400, 'RULE.CLEAR_THRESHOLD_SIDE');
    expect(error.details).toEqual({ field: 'clear_threshold' });
  });

  it.each([
    ['>', 80],
    ['>=', 70],
    ['<', 80],
    ['<=', 90],
  ])('clear_threshold %s on the safe side is kept', async (operator, clear) => {
    const res = await create({ ...THRESHOLD, operator, clear_threshold: clear });
    expect(res.status).toBe(201);
    expect(res.body.clear_threshold).toBe(clear);
  });

  it('PATCH validates the merged rule, including a change of type', async () => {
    const rule = (await create(THRESHOLD)).body;
    // To no_data: the threshold fields drop out; no_data_seconds must come with the change.
    expect(fieldsOf(expectError(await t.http.patch(`/rules/${rule.id}`, { type: 'no_data' }), 422))).toEqual(['no_data_seconds']);
    expect(fieldsOf(expectError(await t.http.patch(`/rules/${rule.id}`, { type: 'no_data', no_data_seconds: 30, operator: '<' }), 422))).toEqual([
      'operator',
    ]);
    const quiet = await t.http.patch(`/rules/${rule.id}`, { type: 'no_data', no_data_seconds: 30 });
    expect(quiet.status).toBe(200);
    expect(quiet.body).toMatchObject({ type: 'no_data', metric: 'temperature', no_data_seconds: 30, operator: null, threshold: null, for_seconds: null });
    expect(fieldsOf(expectError(await t.http.patch(`/rules/${rule.id}`, { window_n: 3 }), 422))).toEqual(['window_n']);
    expect(fieldsOf(expectError(await t.http.patch(`/rules/${rule.id}`, { no_data_seconds: 2 }), 422))).toEqual(['no_data_seconds']);
    // And back: the threshold fields are required again, no_data_seconds drops out.
    expect(fieldsOf(expectError(await t.http.patch(`/rules/${rule.id}`, { type: 'threshold' }), 422))).toEqual([
      'operator', 'required_k', 'threshold', 'window_n',
    ]);
    const back = await t.http.patch(`/rules/${rule.id}`, { type: 'threshold', operator: '<', threshold: 5, window_n: 2, required_k: 2, clear_threshold: 6 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ type: 'threshold', operator: '<', threshold: 5, for_seconds: 0, clear_threshold: 6, no_data_seconds: null });
    expectError(await t.http.patch(`/rules/${rule.id}`, { clear_threshold: 4 }), 400, 'RULE.CLEAR_THRESHOLD_SIDE');
    expectError(await t.http.patch(`/rules/${rule.id}`, { threshold: 7 }), 400, 'RULE.CLEAR_THRESHOLD_SIDE');
    expect((await t.http.patch(`/rules/${rule.id}`, { clear_threshold: null, for_seconds: 30 })).body).toMatchObject({ clear_threshold: null, for_seconds: 30 });
  });
});

describe('for_seconds, clear_threshold and alert order, end to end', () => {
  let app: RunningApp;
  let t: Tenant;

  beforeAll(async () => {
    app = await startApp();
    t = await createTenant(app);
  });
  afterAll(() => app.close());

  async function send(externalId: string, temperature: number) {
    const res = await t.http.post('/telemetry', { device_external_id: externalId, events: [{ ts: nextTs(), data: { temperature } }] });
    expect(res.status).toBe(202);
  }
  const alertsOf = async (deviceId: number) => (await t.http.get(`/devices/${deviceId}/alerts`)).body as any[];
  const lastArrival = async (deviceId: number) => new Date((await t.http.get(`/telemetry/devices/${deviceId}/telemetry/latest`)).body.received_at).getTime();

  /** A device under its own EXPLICIT rule, so the scenarios of this suite run side by side. */
  async function ruleFor(body: Record<string, unknown>) {
    const device = await createDevice(t);
    const rule = await t.http.post(`/projects/${t.projectId}/rules`, { ...THRESHOLD, scope: 'EXPLICIT', ...body });
    expect(rule.status).toBe(201);
    expect((await t.http.post(`/rules/${rule.body.id}/devices`, { device_ids: [device.id] })).status).toBe(204);
    return { device, rule: rule.body };
  }

  it('for_seconds: opens only after the condition has held that long', async () => {
    const { device, rule } = await ruleFor({ for_seconds: 3 });
    await send(device.external_id, 90);
    await waitForQueuesIdle();
    const first = await lastArrival(device.id);
    expect(await alertsOf(device.id)).toHaveLength(0);
    await send(device.external_id, 95);
    const [alert] = await waitFor(() => alertsOf(device.id), (a) => a.length > 0, { what: 'the sustained alert', timeoutMs: 30_000 });
    expect(alert.details.rule).toMatchObject({ id: rule.id, type: 'threshold', for_seconds: 3, clear_threshold: null, no_data_seconds: null });
    expect(alert.details.evaluation).toMatchObject({ device_id: device.id, match_count: 1 });
    const opened = new Date(alert.triggered_at).getTime();
    expect(opened - first).toBeGreaterThanOrEqual(3_000);
    process.stdout.write(`for_seconds 3: opened ${opened - first - 3000} ms after due\n`);
  });

  it('for_seconds: a good reading in between resets the wait', async () => {
    const { device } = await ruleFor({ for_seconds: 4 });
    await send(device.external_id, 90);
    await sleep(1_500);
    await send(device.external_id, 50);
    await waitForQueuesIdle();
    await send(device.external_id, 90);
    await waitForQueuesIdle();
    const restart = await lastArrival(device.id);
    const [alert] = await waitFor(() => alertsOf(device.id), (a) => a.length > 0, { what: 'the alert after the reset', timeoutMs: 30_000 });
    expect(new Date(alert.triggered_at).getTime() - restart).toBeGreaterThanOrEqual(4_000);
  });

  it('for_seconds: a device that breaches and goes quiet still opens at the due time', async () => {
    const { device } = await ruleFor({ for_seconds: 2 });
    await send(device.external_id, 99);
    await waitForQueuesIdle();
    const sent = await lastArrival(device.id);
    const [alert] = await waitFor(() => alertsOf(device.id), (a) => a.length > 0, { what: 'the timer-opened alert', timeoutMs: 30_000 });
    expect(alert.status).toBe('firing');
    expect(new Date(alert.triggered_at).getTime() - sent).toBeGreaterThanOrEqual(2_000);
  });

  it('clear_threshold: between the clear level and the threshold the alert stays open; below it resolves', async () => {
    const { device } = await ruleFor({ clear_threshold: 70 });
    await send(device.external_id, 90);
    await waitForQueuesIdle();
    const [open] = await alertsOf(device.id);
    expect(open.status).toBe('firing');
    await send(device.external_id, 75);
    await waitForQueuesIdle();
    expect((await t.http.get(`/alerts/${open.id}`)).body.status).toBe('firing');
    await send(device.external_id, 70.5);
    await waitForQueuesIdle();
    expect((await t.http.get(`/alerts/${open.id}`)).body.status).toBe('firing');
    await send(device.external_id, 65);
    await waitForQueuesIdle();
    const resolved = (await t.http.get(`/alerts/${open.id}`)).body;
    expect(resolved.status).toBe('resolved');
    expect(resolved.resolved_at).toMatch(/Z$/);
  });

  it('alert lists are newest triggered_at first, then id, and alerts opened in one evaluation differ in triggered_at', async () => {
    const device = await createDevice(t, { tags: ['ordered'] });
    const rules = [];
    for (let i = 0; i < 6; i++) {
      rules.push((await t.http.post(`/projects/${t.projectId}/rules`, { ...THRESHOLD, name: `r${i}`, scope: 'TAG', tag: 'ordered' })).body.id);
    }
    await send(device.external_id, 99);
    await waitForQueuesIdle();
    const list: any[] = (await t.http.get(`/devices/${device.id}/alerts`)).body;
    expect(list.map((a) => a.rule_id).sort()).toEqual([...rules].sort());
    const key = (a: any) => [new Date(a.triggered_at).getTime(), a.id] as const;
    for (let i = 1; i < list.length; i++) {
      const [prev, cur] = [key(list[i - 1]), key(list[i])];
      expect(prev[0] > cur[0] || (prev[0] === cur[0] && prev[1] > cur[1])).toBe(true);
    }
    // Opened one after another in one transaction, yet not all at its start time.
    expect(new Set(list.map((a) => a.triggered_at)).size).toBeGreaterThan(1);
    // The project list, paged two at a time, gives the same order.
    const paged: any[] = [];
    let cursor = '';
    do {
      const res = await t.http.get(`/projects/${t.projectId}/alerts?device_id=${device.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...res.body);
      cursor = res.headers.get('x-next-cursor') ?? '';
    } while (cursor);
    expect(paged.map((a) => a.id)).toEqual(list.map((a) => a.id));
  });
});
