import { Agent, request } from 'node:http';
import { benchEnv, dropDatabase, fmt, peakRssMb, pg, Proc, seedTenant, startProcess } from './platform';

/**
 * `npm run bench:ingest`: READINGS readings in batches of BATCH from CONCURRENCY clients
 * through POST /telemetry, timed until every reading is durable in Postgres; then the same
 * rows inserted directly, one multi-row statement per batch, into a scratch table with the
 * same columns and unique key. Prints both rates and their ratio.
 */
const READINGS = Number(process.env.READINGS ?? 1_000_000);
const BATCH = Number(process.env.BATCH ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const DEVICES = Number(process.env.DEVICES ?? 100);
const SPLIT = process.env.SPLIT !== '0';

function batchBody(externalId: string, b: number): string {
  const base = Date.UTC(2026, 10, 24) + b * BATCH * 10;
  const events = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    events[i] = { ts: new Date(base + i * 10).toISOString(), event_id: `b${b}-${i}`, data: { temperature: 20 + ((b * 7 + i) % 70), humidity: 40 + (i % 30) } };
  }
  return JSON.stringify({ device_external_id: externalId, events });
}

function post(agent: Agent, url: URL, key: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: '/telemetry', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': key } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const env = benchEnv();
  const procs: Proc[] = [];
  try {
    const api = await startProcess('api', SPLIT ? 'api' : 'all', env);
    procs.push(api);
    if (SPLIT) procs.push(await startProcess('worker', 'worker', env));
    const tenant = await seedTenant(api.url!, DEVICES);
    const batches = Math.ceil(READINGS / BATCH);
    process.stdout.write(`preparing ${fmt(batches)} batches of ${BATCH}…\n`);
    const bodies = Array.from({ length: batches }, (_, b) => batchBody(tenant.devices[b % DEVICES].external_id, b));
    const db = await pg(env.databaseUrl);

    // Platform: HTTP → queue → worker → Postgres, until the last reading is durable.
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const url = new URL(api.url!);
    const started = Date.now();
    let next = 0;
    let accepted = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batches) {
          const status = await post(agent, url, tenant.key, bodies[next++]);
          if (status !== 202) throw new Error(`POST /telemetry answered ${status}`);
          accepted += BATCH;
          if (accepted % (BATCH * 100) === 0) process.stdout.write(`  accepted ${fmt(accepted)}\r`);
        }
      }),
    );
    const acceptedAt = Date.now();
    let stored = 0;
    while (stored < READINGS) {
      stored = Number((await db.query('SELECT count(*)::int AS n FROM readings')).rows[0].n);
      if (stored < READINGS) await new Promise((r) => setTimeout(r, 100));
    }
    const platformMs = Date.now() - started;
    const mem = procs.map((p) => `${p.name} ${peakRssMb(p.child.pid)} MB`).join(', ');
    agent.destroy();

    // Direct: the same rows, one multi-row INSERT per batch, same concurrency.
    await db.query(`CREATE TABLE bench_scratch (LIKE readings INCLUDING DEFAULTS)`);
    await db.query(`CREATE UNIQUE INDEX ON bench_scratch (device_id, ts, event_id)`);
    const conns = await Promise.all(Array.from({ length: CONCURRENCY }, () => pg(env.databaseUrl)));
    const directStart = Date.now();
    next = 0;
    await Promise.all(
      conns.map(async (c) => {
        while (next < batches) {
          const b = next++;
          const body = JSON.parse(bodies[b]);
          const device = tenant.devices[b % DEVICES].id;
          const values: unknown[] = [];
          const rows: string[] = [];
          body.events.forEach((e: { ts: string; event_id: string; data: unknown }, i: number) => {
            const o = i * 5;
            rows.push(`($${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, now(), $${o + 5})`);
            values.push(tenant.projectId, device, e.event_id, e.ts, JSON.stringify(e.data));
          });
          await c.query(
            `INSERT INTO bench_scratch (project_id, device_id, event_id, ts, received_at, payload) VALUES ${rows.join(',')} ON CONFLICT DO NOTHING`,
            values,
          );
        }
      }),
    );
    const directMs = Date.now() - directStart;
    await Promise.all(conns.map((c) => c.end()));
    await db.end();

    const platformRate = READINGS / (platformMs / 1000);
    const directRate = READINGS / (directMs / 1000);
    process.stdout.write(
      [
        '',
        `readings               ${fmt(READINGS)} in batches of ${BATCH}, ${CONCURRENCY} clients, ${DEVICES} devices, ${SPLIT ? 'api + worker processes' : 'one process (ROLE=all)'}`,
        `platform (durable)     ${fmt(platformRate)} readings/s  (${fmt(platformMs / 1000, 1)} s; all accepted after ${fmt((acceptedAt - started) / 1000, 1)} s)`,
        `direct multi-row       ${fmt(directRate)} readings/s  (${fmt(directMs / 1000, 1)} s)`,
        `ratio                  ${fmt(platformRate / directRate, 2)}`,
        `peak RSS               ${mem}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await dropDatabase(env);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
