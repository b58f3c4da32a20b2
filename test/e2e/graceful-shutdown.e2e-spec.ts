import { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { waitForQueuesIdle } from '../support/queues';
import { SpawnedApp, spawnApp } from '../support/spawned-app';
import { createDevice, createTenant, Tenant } from '../support/tenant';

const CLIENTS = 16;
const BATCH = 50;

/**
 * SIGTERM under load: the api stops taking requests and answers those in flight, the worker
 * finishes its jobs; afterwards every reading that was acknowledged (202) is stored exactly once.
 */
describe('graceful shutdown', () => {
  let api: RunningApp;
  let worker: SpawnedApp;
  let t: Tenant;
  let db: Client;

  beforeAll(async () => {
    [api, worker] = await Promise.all([startApp({ ROLE: 'api' }), spawnApp({}, 'dist/src/worker.js')]);
    t = await createTenant(api);
    db = await connectDb();
  });
  afterAll(async () => {
    await db.end();
    await Promise.all([api?.close(), worker?.stop()]);
  });

  it('acknowledged readings are all stored once when api and worker are stopped mid-load', async () => {
    const devices = await Promise.all(Array.from({ length: 4 }, () => createDevice(t)));
    const acked: string[] = [];
    const answers = new Map<number, number>();
    let refused = 0;
    let running = true;
    let seq = 0;
    const base = Date.UTC(2026, 11, 4);

    // An alert stream open at shutdown must not hold the api up: it is ended.
    const stream = await fetch(`${api.url}/alerts/stream`, { headers: { 'X-API-Key': t.key } });
    const streamEnded = (async () => {
      const reader = stream.body!.getReader();
      for (;;) if ((await reader.read()).done) return true;
    })().catch(() => true);

    const client = async (c: number) => {
      while (running) {
        const n = seq++;
        const ids = Array.from({ length: BATCH }, (_, i) => `c${c}-b${n}-${i}`);
        const body = {
          device_external_id: devices[n % devices.length].external_id,
          events: ids.map((event_id, i) => ({ event_id, ts: new Date(base + n * BATCH + i).toISOString(), data: { temperature: 20 + (i % 50) } })),
        };
        try {
          const res = await fetch(`${api.url}/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-API-Key': t.key }, body: JSON.stringify(body) });
          answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
          if (res.status === 202) acked.push(...ids);
          await res.arrayBuffer();
        } catch {
          // The api has stopped listening: nothing was acknowledged for this batch.
          refused++;
          if (!running) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, 1500));
    const ackedBeforeStop = acked.length;
    const stopStarted = Date.now();
    await Promise.all([api.proc.stop('SIGTERM'), worker.stop('SIGTERM')]);
    const stopMs = Date.now() - stopStarted;
    running = false;
    await Promise.all(clients);

    expect(api.proc.proc.exitCode).toBe(0);
    expect(worker.proc.exitCode).toBe(0);
    expect(stopMs).toBeLessThan(15_000);
    expect(await streamEnded).toBe(true);
    expect(ackedBeforeStop).toBeGreaterThan(0);
    // Every answer the api gave was an acknowledgement: nothing in flight was cut off with an error.
    expect([...answers.keys()]).toEqual([202]);

    // A new worker takes what the stopped one left queued.
    worker = await spawnApp({}, 'dist/src/worker.js');
    await waitForQueuesIdle(60_000);
    const ids = devices.map((d) => d.id);
    const stored = await db.query(`SELECT event_id, count(*)::int AS n FROM readings WHERE device_id = ANY($1::bigint[]) GROUP BY event_id`, [ids]);
    const counts = new Map(stored.rows.map((r) => [r.event_id as string, r.n as number]));
    expect(acked.filter((id) => counts.get(id) !== 1)).toEqual([]);
    expect(stored.rows.filter((r) => r.n !== 1)).toEqual([]);
    process.stdout.write(`graceful shutdown: ${acked.length} readings acknowledged, ${refused} requests refused after the stop, stop took ${stopMs} ms\n`);
  });
});
