import Queue from 'bull';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { OwnPostgres } from '../support/own-services';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { waitFor } from '../support/telemetry';
import { WebhookReceiver } from '../support/webhook-receiver';

// This suite's own Postgres cluster, stopped and started under load (the shared one never is).
const PG = new OwnPostgres('watchpost_durable_outage', 5451);
/** Longer than any retry schedule the platform ever had (the evaluation's was ~2 minutes). */
const OUTAGE_MS = 185_000;
const REQUEST_TIMEOUT_MS = 20_000;
const RULE = { name: 'hot', metric: 'temperature', operator: '>', threshold: 50, window_n: 3, required_k: 3, cooldown_seconds: 0 };

/**
 * DESIGN, Telemetry and Reliability: a 202 is a promise "however long Postgres is away".
 * Postgres is stopped for over three minutes while deliveries are retrying, evaluations are
 * queued and devices keep sending; afterwards every acknowledged reading is stored once, every
 * breached window has its alert and every alert reached the subscriber. Clients meanwhile got
 * 202 (a device the api knew) or 503 with Retry-After, never a 500 or a hang.
 */
describe('a long Postgres outage', () => {
  let api: RunningApp;
  let worker: SpawnedApp;
  let t: Tenant;
  let db: Pool;
  let evaluations: Queue.Queue;
  const sink = new WebhookReceiver();
  const path = `/hook-${randomBytes(4).toString('hex')}`;
  const prefix = `${process.env.REDIS_PREFIX}:pg-outage`;
  let clock = Date.UTC(2026, 5, 1);

  beforeAll(async () => {
    await Promise.all([PG.create(), sink.start()]);
    const env = {
      DATABASE_URL: PG.url,
      MIGRATE_ON_START: 'true',
      REDIS_PREFIX: prefix,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_RETRY_BASE_MS: '1000',
      RATE_LIMIT_TELEMETRY_PER_MINUTE: '100000',
      RATE_LIMIT_TELEMETRY_PER_HOUR: '1000000',
      RATE_LIMIT_PROJECT_PER_MINUTE: '100000',
      LOG_LEVEL: 'warn',
    };
    api = await startApp({ ...env, ROLE: 'api' });
    worker = await spawnApp({ ...env, ROLE: 'worker' }, 'dist/src/worker.js');
    db = new Pool({ connectionString: PG.url, max: 2 });
    db.on('error', () => undefined);
    evaluations = new Queue('rule-evaluation', { prefix, redis: process.env.REDIS_URL! });
  });
  afterAll(async () => {
    await evaluations?.close().catch(() => undefined);
    await Promise.all([api?.close(), worker?.stop(), sink.stop()].map((p) => p?.catch(() => undefined)));
    await db?.end().catch(() => undefined);
    PG.drop();
  });

  const events = (n: number, temperature: number, tag: string) =>
    Array.from({ length: n }, (_, i) => ({ event_id: `${tag}-${i}`, ts: new Date((clock += 1000)).toISOString(), data: { temperature } }));

  const post = (externalId: string, body: object[], query = '') =>
    fetch(`${api.url}/telemetry${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-API-Key': t.key },
      body: JSON.stringify({ device_external_id: externalId, events: body }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });

  it(
    'loses no reading, evaluation or notification, and answers 202 or 503 throughout',
    async () => {
      t = await createTenant(api);
      expect((await t.http.post(`/projects/${t.projectId}/rules`, RULE)).status).toBe(201);
      // The first two attempts fail, so deliveries are retrying when Postgres goes.
      sink.script(path, { status: 503 }, { status: 503 }, { status: 200 });
      expect((await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.url + path })).status).toBe(201);
      const [a, b, c1, c2, unknown] = await Promise.all(Array.from({ length: 5 }, () => createDevice(t)));
      const acked = new Map<number, Set<string>>([a, b, c1, c2].map((d) => [d.id, new Set<string>()]));
      const send = async (d: { id: number; external_id: string }, n: number, temperature: number, tag: string, query = '') => {
        const batch = events(n, temperature, tag);
        const res = await post(d.external_id, batch, query);
        if (res.status === 202 || res.status === 201) for (const e of batch) acked.get(d.id)!.add(e.event_id);
        return res;
      };

      // Before: a's window breaches and its delivery starts failing; c1 and c2 are known to
      // the api (and the key verified); b's breach is stored while evaluation is paused.
      expect((await send(a, 3, 90, 'a-before')).status).toBe(202);
      for (const d of [c1, c2]) expect((await send(d, 1, 10, `${d.id}-warm`)).status).toBe(202);
      await sink.waitFor(path, 1, 30_000);
      await evaluations.pause();
      expect((await send(b, 3, 90, 'b-before', '?wait=true')).status).toBe(201);
      await waitFor(() => evaluations.getJobCounts().then((j) => (j as any).paused + j.waiting), (n) => n > 0, { what: "b's evaluation to be queued" });

      PG.stop();
      const outageStarted = Date.now();
      await evaluations.resume();

      const answers: { kind: string; status: number; retryAfter: string | null }[] = [];
      const record = (kind: string, res: Response) => answers.push({ kind, status: res.status, retryAfter: res.headers.get('retry-after') });
      let n = 0;
      while (Date.now() - outageStarted < OUTAGE_MS) {
        n++;
        const d = n % 2 ? c1 : c2;
        record('known device', await send(d, 3, 90, `out-${n}`));
        if (n % 5 === 0) {
          record('unknown device', await post(unknown.external_id, events(1, 90, `u-${n}`)));
          record('wait=true', await send(d, 1, 90, `w-${n}`, '?wait=true'));
          record('read', await fetch(`${api.url}/projects/${t.projectId}/alerts`, { headers: { 'X-API-Key': t.key }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }));
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      // Evaluation kept retrying through the outage, past the 8 attempts that used to drop it.
      const retrying = await evaluations.getDelayed();
      expect(Math.max(0, ...retrying.map((j) => j.attemptsMade))).toBeGreaterThan(8);
      PG.start();
      await PG.waitUp();

      const byKind = (kind: string) => answers.filter((x) => x.kind === kind);
      expect(byKind('known device').length).toBeGreaterThan(50);
      expect(byKind('known device').every((x) => x.status === 202)).toBe(true);
      for (const kind of ['unknown device', 'wait=true', 'read']) {
        expect(byKind(kind).length).toBeGreaterThan(0);
        expect(byKind(kind).filter((x) => x.status !== 503 || x.retryAfter === null)).toEqual([]);
      }

      // Both processes come back by themselves.
      await waitFor(() => fetch(`${api.url}/health/ready`).then((r) => r.status), (s) => s === 200, { timeoutMs: 30_000, what: 'the api to be ready' });

      // Every acknowledged reading stored, once.
      for (const [deviceId, ids] of acked) {
        const stored = await waitFor(
          () => db.query(`SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct_ids FROM readings WHERE device_id = $1`, [deviceId]).then((r) => r.rows[0]),
          (r) => r.total >= ids.size,
          { timeoutMs: 120_000, intervalMs: 500, what: `the ${ids.size} acknowledged readings of device ${deviceId}` },
        );
        expect(stored).toEqual({ total: ids.size, distinct_ids: ids.size });
      }
      // Every breached window alerted, and every alert delivered.
      const alerts = await waitFor(
        () => t.http.get(`/projects/${t.projectId}/alerts`).then((r) => r.body as { id: number; device_id: number }[]),
        (list) => [a, b, c1, c2].every((d) => list.some((x) => x.device_id === d.id)),
        { timeoutMs: 120_000, intervalMs: 500, what: 'an alert for each breached device' },
      );
      const deliveries = await waitFor(
        () => t.http.get(`/projects/${t.projectId}/webhook-deliveries`).then((r) => r.body as { alert_id: number; status: string }[]),
        (list) => alerts.every((al) => list.some((d) => d.alert_id === al.id && d.status === 'success')),
        { timeoutMs: 180_000, intervalMs: 1000, what: 'every alert delivered' },
      );
      expect(deliveries.filter((d) => d.status !== 'success')).toEqual([]);
      const delivered = new Set(sink.at(path).map((r) => r.json?.alert_id));
      for (const al of alerts) expect(delivered.has(al.id)).toBe(true);

      // The failed attempts were reported, not silent.
      expect(worker.output()).toMatch(/rule-evaluation job \S+ \(evaluate-device\) failed \(attempt \d+\); retrying/);
    },
    OUTAGE_MS + 600_000,
  );
});
