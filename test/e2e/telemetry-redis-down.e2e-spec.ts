import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { freePort } from '../support/spawned-app';
import { createDevice, createTenant } from '../support/tenant';

// DESIGN, Reliability: losing Redis may delay work; it must never lose an acknowledged
// reading. Without Redis the api stores the batch in Postgres itself before answering.
describe('ingestion while Redis is down', () => {
  let redis: ChildProcess;
  let app: RunningApp;
  let db: Client;

  beforeAll(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    app = await startApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await app.proc.stop('SIGKILL');
    if (redis.exitCode === null) redis.kill('SIGKILL');
  });

  it('answers 202 only for readings it has stored, and reports Redis down', async () => {
    const tenant = await createTenant(app);
    const device = await createDevice(tenant);
    redis.kill('SIGKILL');
    await once(redis, 'exit');

    const events = [1, 2, 3].map((v) => ({ ts: `2026-02-0${v}T00:00:00Z`, data: { v }, event_id: `down-${v}` }));
    const res = await tenant.http.post('/telemetry', { device_external_id: device.external_id, events });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ queued: 3, device_id: device.id, rejected: [] });
    // The 202 came after the readings were durable: they are in Postgres already.
    const stored = await db.query(`SELECT event_id FROM readings WHERE device_id = $1 ORDER BY event_id`, [device.id]);
    expect(stored.rows.map((r) => r.event_id)).toEqual(['down-1', 'down-2', 'down-3']);

    const ready = await app.http.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ postgres: 'up', redis: 'down' });
  });
});
