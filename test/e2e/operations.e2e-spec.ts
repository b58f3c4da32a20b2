import { randomBytes } from 'node:crypto';
import { RunningApp, startApp } from '../support/app';
import { freePort, SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { TEST_ADMIN_TOKEN } from '../support/test-env';
import { eventually, WebhookReceiver } from '../support/webhook-receiver';

const RULE = { name: 'hot', metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0 };
let clock = Date.UTC(2026, 11, 3);

/** One sample of a Prometheus text exposition, by metric name and (optional) labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[3] ?? '').split(',');
    if (want.every((w) => have.includes(w))) return Number(m[4]);
  }
  return undefined;
}

describe('operations: metrics, queue dashboard and logs', () => {
  let app: RunningApp;
  let worker: SpawnedApp;
  let metricsPort: number;
  let t: Tenant;
  const sink = new WebhookReceiver();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  beforeAll(async () => {
    metricsPort = await freePort();
    // An api and a worker, as in production: the api answers, the worker stores, evaluates
    // and sends. Logs at info: the log-hygiene test below reads every line of both.
    const env = { LOG_LEVEL: 'info', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_MAX_RETRIES: '1' };
    [app, worker] = await Promise.all([startApp({ ...env, ROLE: 'api' }), spawnApp({ ...env, METRICS_PORT: String(metricsPort) }, 'dist/src/worker.js'),
      sink.start(),
    ]);
    t = await createTenant(app);
  });
  afterAll(async () => {
    await Promise.all([app?.close(), worker?.stop(), sink.stop()]);
  });

  const metrics = async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('GET /metrics counts readings, alerts and deliveries, and shows queues, circuits and the process', async () => {
    expect((await t.http.post(`/projects/${t.projectId}/rules`, RULE)).status).toBe(201);
    const device = await createDevice(t);
    const ok = sink.script('/ok', { status: 200 });
    const failing = (await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script('/down', { status: 503 }) })).body;
    expect((await t.http.post(`/projects/${t.projectId}/webhooks`, { url: ok, secret })).status).toBe(201);
    const before = await metrics();
    const accepted0 = sample(before, 'watchpost_readings_accepted_total') ?? 0;
    const rejected0 = sample(before, 'watchpost_readings_rejected_total') ?? 0;
    const opened0 = sample(before, 'watchpost_alerts_opened_total') ?? 0;

    const res = await t.http.post('/telemetry', {
      device_external_id: device.external_id,
      events: [
        { ts: new Date((clock += 1000)).toISOString(), data: { temperature: 90 } },
        { ts: 'not a time', data: { temperature: 1 } },
      ],
    });
    expect(res.status).toBe(202);
    await sink.waitFor('/ok', 1);
    await eventually(async () => (await t.http.get(`/projects/${t.projectId}/webhook-deliveries?status=failed`)).body, (d) => d.length === 1);

    const after = await metrics();
    expect(sample(after, 'watchpost_readings_accepted_total')).toBe(accepted0 + 1);
    expect(sample(after, 'watchpost_readings_rejected_total')).toBe(rejected0 + 1);
    expect(sample(after, 'watchpost_ingest_duration_seconds_count', { stage: 'accept' })).toBeGreaterThanOrEqual(1);
    // Queue depths and the failing webhook's circuit come from Redis: the api reports them.
    for (const queue of ['telemetry-ingest', 'telemetry-ingest-bulk', 'rule-evaluation', 'webhook-delivery']) {
      expect(sample(after, 'watchpost_queue_jobs', { queue, state: 'waiting' })).toBeDefined();
      expect(sample(after, 'watchpost_queue_jobs', { queue, state: 'failed' })).toBeDefined();
    }
    expect(sample(after, 'watchpost_webhook_circuit_state', { webhook_id: String(failing.id), state: 'closed' })).toBe(1);
    expect(sample(after, 'watchpost_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(after, 'watchpost_alerts_opened_total')).toBe(opened0); // the api opened none

    // The worker did the storing, evaluating and sending; it serves its own counters.
    const w = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(sample(w, 'watchpost_readings_stored_total')).toBeGreaterThanOrEqual(1);
    expect(sample(w, 'watchpost_alerts_opened_total')).toBeGreaterThanOrEqual(1);
    expect(sample(w, 'watchpost_evaluation_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(w, 'watchpost_webhook_deliveries_total', { outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(sample(w, 'watchpost_webhook_deliveries_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
  });

  it('bull-board at /admin/queues answers only with the admin token', async () => {
    const anonymous = await fetch(`${app.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
    expect(((await anonymous.json()) as any).error.code).toBe('AUTH.ADMIN_TOKEN_INVALID');
    expect((await fetch(`${app.url}/admin/queues`, { headers: { 'X-Admin-Token': 'wrong' } })).status).toBe(401);
    expect((await fetch(`${app.url}/admin/queues`, { headers: { 'X-API-Key': t.key } })).status).toBe(401);

    const page = await fetch(`${app.url}/admin/queues`, { headers: { 'X-Admin-Token': TEST_ADMIN_TOKEN } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const basic = `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}`;
    const queues = await fetch(`${app.url}/admin/queues/api/queues`, { headers: { Authorization: basic } });
    expect(queues.status).toBe(200);
    expect(((await queues.json()) as any).queues.map((q: { name: string }) => q.name).sort()).toEqual([
      'maintenance',
      'rollup-catch-up',
      'rule-evaluation',
      'rule-evaluation-heavy',
      'telemetry-ingest',
      'telemetry-ingest-bulk',
      'webhook-delivery',
    ]);
  });

  it('logs are JSON lines with request, project and job ids, and no secret appears in any of them', async () => {
    // Make sure a keyed request and a job have been logged (the test above ran both).
    await t.http.get(`/projects/${t.projectId}/devices`, { 'X-Request-ID': 'trace-me-123' });
    await eventually(async () => app.proc.output().includes('trace-me-123'), Boolean);
    const lines = [app.proc.output(), worker.output()].join('\n').split('\n').filter((l) => l.trim());
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.every((l) => typeof l.level === 'string' && typeof l.time === 'string')).toBe(true);
    const traced = parsed.find((l) => l.request_id === 'trace-me-123');
    expect(traced).toMatchObject({ msg: 'request', method: 'GET', status: 200, project_id: t.projectId, path: `/projects/${t.projectId}/devices` });
    expect(parsed.some((l) => l.job_id && l.queue && l.project_id === t.projectId)).toBe(true);

    const all = lines.join('\n');
    const [keyPrefix, keySecret] = t.key.split('.');
    expect(all).not.toContain(keySecret);
    expect(all).not.toContain(t.key);
    expect(all).not.toContain(TEST_ADMIN_TOKEN);
    expect(all).not.toContain(secret);
    expect(all).not.toContain(secret.slice('whsec_'.length));
    expect(keyPrefix).toHaveLength(8);
  });
});
