import { Client } from 'pg';
import { readSse } from '../../scripts/local-http';
import { RunningApp, startApp } from '../support/app';
import { waitForQueuesIdle } from '../support/queues';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';

/** Reads Server-Sent Events from a stream into a list the test can wait on. */
class SseClient {
  readonly events: { event: string; data: any }[] = [];
  private controller = new AbortController();
  status = 0;

  async open(url: string, headers: Record<string, string>): Promise<void> {
    const res = await fetch(url, { headers, signal: this.controller.signal });
    this.status = res.status;
    if (res.status !== 200) return;
    readSse(res.body!, ({ type, data }) => {
      if (data !== null) this.events.push({ event: type, data: JSON.parse(data) });
    }).catch(() => {
      /* aborted */
    });
  }

  async waitFor(pred: (e: { event: string; data: any }) => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.events.find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no matching event; got ${JSON.stringify(this.events.map((e) => e.event))}`);
  }

  close(): void {
    this.controller.abort();
  }
}

const RULE = { name: 'overheat', metric: 'temperature', operator: '>', threshold: 80, window_n: 5, required_k: 3, cooldown_seconds: 0 };
let clock = Date.UTC(2026, 10, 21);
const events = (values: number[]) => values.map((v) => ({ ts: new Date((clock += 1000)).toISOString(), data: { temperature: v } }));

describe('alerts across processes', () => {
  let api: RunningApp; // ROLE=api: serves the stream, evaluates nothing
  let all: RunningApp; // ROLE=all: makes the changes
  let worker: SpawnedApp; // a second worker, for the concurrency case
  let t: Tenant;
  let db: Client;

  beforeAll(async () => {
    [api, all, worker] = await Promise.all([startApp({ ROLE: 'api' }), startApp(), spawnApp({}, 'dist/src/worker.js')]);
    t = await createTenant(all);
    expect((await t.http.post(`/projects/${t.projectId}/rules`, RULE)).status).toBe(201);
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await Promise.all([api.close(), all.close(), worker.stop()]);
  });

  it('two workers and many concurrent batches for one device open exactly one alert', async () => {
    const device = await createDevice(t);
    const posts = Array.from({ length: 40 }, () =>
      t.http.post('/telemetry', { device_external_id: device.external_id, events: events([90, 95, 99]) }),
    );
    expect((await Promise.all(posts)).map((r) => r.status)).toEqual(Array(40).fill(202));
    await waitForQueuesIdle();
    const alerts = (await t.http.get(`/devices/${device.id}/alerts`)).body;
    expect(alerts).toHaveLength(1);
    const open = await db.query(`SELECT count(*)::int AS n FROM alerts WHERE device_id = $1 AND status <> 'resolved'`, [device.id]);
    expect(open.rows[0].n).toBe(1);
  });

  it('a stream on another process receives triggered, acknowledged and resolved, filtered by device', async () => {
    const device = await createDevice(t);
    const other = await createDevice(t);
    const stream = new SseClient();
    const filtered = new SseClient();
    const onApi = api.http.with({ 'X-API-Key': t.key });
    await stream.open(`${api.url}/alerts/stream`, { 'X-API-Key': t.key });
    await filtered.open(`${api.url}/alerts/stream?device_id=${other.id}`, { 'X-API-Key': t.key });
    expect(stream.status).toBe(200);
    try {
      // Readings go in through the api process; the workers evaluate and publish.
      expect((await onApi.post('/telemetry', { device_external_id: device.external_id, events: events([90, 90, 90, 90, 90]) })).status).toBe(202);
      const triggered = await stream.waitFor((e) => e.event === 'alert.triggered' && e.data.device_id === device.id);
      expect(triggered.data).toMatchObject({ status: 'firing', rule_id: expect.any(Number), project_id: t.projectId });

      // An ack made through the other process reaches the stream as well.
      expect((await t.http.post(`/alerts/${triggered.data.id}/ack`)).status).toBe(200);
      await stream.waitFor((e) => e.event === 'alert.acknowledged' && e.data.id === triggered.data.id);

      expect((await onApi.post('/telemetry', { device_external_id: device.external_id, events: events([10, 10, 10]) })).status).toBe(202);
      const resolved = await stream.waitFor((e) => e.event === 'alert.resolved' && e.data.id === triggered.data.id);
      expect(resolved.data.resolved_at).toMatch(/Z$/);

      // The device-filtered stream saw none of this device's events.
      await waitForQueuesIdle();
      expect(filtered.events.filter((e) => e.data.device_id === device.id)).toHaveLength(0);
      expect((await onApi.post('/telemetry', { device_external_id: other.external_id, events: events([99, 99, 99, 99, 99]) })).status).toBe(202);
      await filtered.waitFor((e) => e.event === 'alert.triggered' && e.data.device_id === other.id);
    } finally {
      stream.close();
      filtered.close();
    }
  });

  it('the stream needs a key, and a device of another project is 404', async () => {
    expect((await fetch(`${api.url}/alerts/stream`)).status).toBe(401);
    const stranger = await createTenant(all);
    const foreign = await createDevice(stranger);
    const res = await fetch(`${api.url}/alerts/stream?device_id=${foreign.id}`, { headers: { 'X-API-Key': t.key } });
    expect(res.status).toBe(404);
  });
});
