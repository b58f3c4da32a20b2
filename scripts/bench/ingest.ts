import { Agent, request } from 'node:http';
import { benchEnv, dropDatabase, fmt, peakRssMb, pg, Proc, seedTenant, startProcess } from './platform';

/**
 * `npm run bench:ingest`: READINGS readings in batches of BATCH from CONCURRENCY clients
 * through POST /telemetry, timed until every reading is durable in Postgres; then the same
 * rows inserted directly, one multi-row statement per batch, into a scratch table with the
 * same columns and unique key; then each batch again twice, interleaved, without and with the
 * reading's identity claimed in a scratch copy of reading_identities in the same statement, as
 * the writer does (docs/ingest.md). Prints the rates, the ratio, and what the identity costs.
 *
 * The measurement itself is `runIngest`, which `npm run bench` (all.ts) uses too.
 */

export interface IngestTenant {
  projectId: number;
  key: string;
  devices: { id: number; external_id: string }[];
}

export interface IngestOptions {
  apiUrl: string;
  databaseUrl: string;
  tenant: IngestTenant;
  readings: number;
  batch: number;
  concurrency: number;
  /** Event time (ms) of reading `i` of batch `b`; batch `b` belongs to device `b % devices`. */
  ts: (b: number, i: number) => number;
  /** Called while batches are accepted, while waiting for durability, and during the direct insert. */
  progress?: (stage: 'accepted' | 'stored' | 'direct', readings: number) => void;
  /** Called after the platform part, before the direct insert (e.g. to read peak memory). */
  afterPlatform?: () => void;
}

export interface IngestResult {
  readings: number;
  batches: number;
  /** Start of the first POST to the last reading durable in Postgres. */
  platformMs: number;
  /** Start of the first POST to the last 202. */
  acceptedMs: number;
  directMs: number;
  platformRate: number;
  directRate: number;
  ratio: number;
  /** The direct insert with the identity claimed in the same statement: the reference's time × identityCost. */
  directWithIdentityMs: number;
  directWithIdentityRate: number;
  /** platformRate / directWithIdentityRate: the ratio had the reference paid for the identity too. */
  ratioWithIdentity: number;
  /**
   * How much longer a batch's statement takes with the identity claimed than without: both
   * statements of every batch, interleaved in one pass, their times summed apart.
   */
  identityCost: number;
}

/** How long the durable count may stand still before the run is given up. */
const STALL_MS = 120_000;

/** ingest.ts's layout: 10 ms between readings, batch after batch, from 24 Nov 2026. */
export const sequentialTs = (batch: number) => (b: number, i: number) => Date.UTC(2026, 10, 24) + b * batch * 10 + i * 10;

function batchBody(externalId: string, b: number, batch: number, ts: IngestOptions['ts']): string {
  const events = new Array(batch);
  for (let i = 0; i < batch; i++) {
    events[i] = { ts: new Date(ts(b, i)).toISOString(), event_id: `b${b}-${i}`, data: { temperature: 20 + ((b * 7 + i) % 70), humidity: 40 + (i % 30) } };
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

/** Builds the batch bodies (before any timing starts). */
export function prepareBodies(o: Pick<IngestOptions, 'tenant' | 'readings' | 'batch' | 'ts'>): string[] {
  const batches = Math.ceil(o.readings / o.batch);
  const n = o.tenant.devices.length;
  return Array.from({ length: batches }, (_, b) => batchBody(o.tenant.devices[b % n].external_id, b, o.batch, o.ts));
}

/**
 * Platform: HTTP → queue → worker → Postgres, until the last reading is durable; then direct:
 * the same rows, one multi-row INSERT per batch, same concurrency, into a scratch table (dropped
 * afterwards) with the same columns and unique key.
 */
export async function runIngest(o: IngestOptions, bodies = prepareBodies(o)): Promise<IngestResult> {
  const { batch, concurrency, readings, tenant } = o;
  const batches = bodies.length;
  const devices = tenant.devices.length;
  const db = await pg(o.databaseUrl);
  // A connection lost between queries fails the next query; its 'error' event must not crash the process.
  db.on('error', () => {});
  try {
    const before = Number((await db.query('SELECT count(*)::int AS n FROM readings')).rows[0].n);
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const url = new URL(o.apiUrl);
    const started = Date.now();
    let next = 0;
    let accepted = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batches) {
          const status = await post(agent, url, tenant.key, bodies[next++]);
          if (status !== 202) throw new Error(`POST /telemetry answered ${status}`);
          accepted += batch;
          o.progress?.('accepted', accepted);
        }
      }),
    );
    const acceptedAt = Date.now();
    let stored = 0;
    let movedAt = Date.now();
    while (stored < readings) {
      const now = Number((await db.query('SELECT count(*)::int AS n FROM readings')).rows[0].n) - before;
      if (now > stored) movedAt = Date.now();
      stored = now;
      o.progress?.('stored', stored);
      if (Date.now() - movedAt > STALL_MS) throw new Error(`only ${stored} of ${readings} readings durable, none more for ${STALL_MS / 1000} s: is a worker running?`);
      if (stored < readings) await new Promise((r) => setTimeout(r, 100));
    }
    const platformMs = Date.now() - started;
    agent.destroy();
    o.afterPlatform?.();

    await db.query(`CREATE TABLE bench_scratch (LIKE readings INCLUDING DEFAULTS)`);
    await db.query(`CREATE UNIQUE INDEX ON bench_scratch (device_id, ts, event_id)`);
    await db.query(`CREATE TABLE bench_scratch_i (LIKE bench_scratch INCLUDING ALL)`);
    await db.query(`CREATE TABLE bench_scratch_ids (LIKE reading_identities INCLUDING ALL)`);
    const conns = await Promise.all(Array.from({ length: concurrency }, () => pg(o.databaseUrl)));
    for (const c of conns) c.on('error', () => {});
    /** One batch's statement: into bench_scratch, or (identity) claiming each identity in bench_scratch_ids first, as the writer does. */
    const statement = (b: number, identity: boolean): { sql: string; values: unknown[]; n: number } => {
      const body = JSON.parse(bodies[b]);
      const device = tenant.devices[b % devices].id;
      const values: unknown[] = [];
      const rows: string[] = [];
      body.events.forEach((e: { ts: string; event_id: string; data: unknown }, i: number) => {
        const off = i * 5;
        rows.push(
          identity
            ? `($${off + 1}::bigint, $${off + 2}::bigint, $${off + 3}::text, $${off + 4}::timestamptz, $${off + 5}::jsonb)`
            : `($${off + 1}, $${off + 2}, $${off + 3}, $${off + 4}, now(), $${off + 5})`,
        );
        values.push(tenant.projectId, device, e.event_id, e.ts, JSON.stringify(e.data));
      });
      const sql = identity
        ? `WITH v (p, d, e, t, j) AS (VALUES ${rows.join(',')}),
           claimed AS (INSERT INTO bench_scratch_ids (device_id, event_id, ts) SELECT d, e, t FROM v ON CONFLICT DO NOTHING RETURNING device_id, event_id)
           INSERT INTO bench_scratch_i (project_id, device_id, event_id, ts, received_at, payload)
           SELECT v.p, v.d, v.e, v.t, now(), v.j FROM v JOIN claimed c ON c.device_id = v.d AND c.event_id = v.e ON CONFLICT DO NOTHING`
        : `INSERT INTO bench_scratch (project_id, device_id, event_id, ts, received_at, payload) VALUES ${rows.join(',')} ON CONFLICT DO NOTHING`;
      return { sql, values, n: body.events.length };
    };
    /**
     * Every batch inserted directly, one statement each, `concurrency` at once. `plain`: the
     * reference. `both`: each batch twice, without and with the identity in alternating order,
     * so both see the same moment of a busy machine; the statements' times are summed apart.
     */
    const direct = async (mode: 'plain' | 'both'): Promise<{ wallMs: number; plainMs: number; identityMs: number }> => {
      const t0 = Date.now();
      const spent = { plainMs: 0, identityMs: 0 };
      next = 0;
      let inserted = 0;
      await Promise.all(
        conns.map(async (c) => {
          while (next < batches) {
            const b = next++;
            const order = mode === 'plain' ? [false] : b % 2 ? [true, false] : [false, true];
            for (const identity of order) {
              const q = statement(b, identity);
              const s0 = performance.now();
              await c.query(q.sql, q.values);
              spent[identity ? 'identityMs' : 'plainMs'] += performance.now() - s0;
              if (mode === 'plain') o.progress?.('direct', (inserted += q.n));
            }
          }
        }),
      );
      return { wallMs: Date.now() - t0, ...spent };
    };
    const directMs = (await direct('plain')).wallMs;
    await db.query('TRUNCATE bench_scratch');
    const paired = await direct('both');
    await Promise.all(conns.map((c) => c.end()));
    await db.query('DROP TABLE bench_scratch, bench_scratch_i, bench_scratch_ids');
    const identityCost = paired.identityMs / paired.plainMs;

    const platformRate = readings / (platformMs / 1000);
    const directRate = readings / (directMs / 1000);
    const directWithIdentityRate = directRate / identityCost;
    const directWithIdentityMs = directMs * identityCost;
    return {
      readings,
      batches,
      platformMs,
      acceptedMs: acceptedAt - started,
      directMs,
      platformRate,
      directRate,
      ratio: platformRate / directRate,
      directWithIdentityMs,
      directWithIdentityRate,
      ratioWithIdentity: platformRate / directWithIdentityRate,
      identityCost,
    };
  } finally {
    await db.end();
  }
}

async function main(): Promise<void> {
  const READINGS = Number(process.env.READINGS ?? 1_000_000);
  const BATCH = Number(process.env.BATCH ?? 1000);
  const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
  const DEVICES = Number(process.env.DEVICES ?? 100);
  const SPLIT = process.env.SPLIT !== '0';
  const env = benchEnv();
  const procs: Proc[] = [];
  try {
    const api = await startProcess('api', SPLIT ? 'api' : 'all', env);
    procs.push(api);
    if (SPLIT) procs.push(await startProcess('worker', 'worker', env));
    const tenant = await seedTenant(api.url!, DEVICES);
    const batches = Math.ceil(READINGS / BATCH);
    process.stdout.write(`preparing ${fmt(batches)} batches of ${BATCH}…\n`);
    const options: IngestOptions = {
      apiUrl: api.url!,
      databaseUrl: env.databaseUrl,
      tenant,
      readings: READINGS,
      batch: BATCH,
      concurrency: CONCURRENCY,
      ts: sequentialTs(BATCH),
      progress: (stage, n) => {
        if (stage === 'accepted' && n % (BATCH * 100) === 0) process.stdout.write(`  accepted ${fmt(n)}\r`);
      },
    };
    const bodies = prepareBodies(options);
    let mem = '';
    options.afterPlatform = () => (mem = procs.map((p) => `${p.name} ${peakRssMb(p.child.pid)} MB`).join(', '));
    const r = await runIngest(options, bodies);

    process.stdout.write(
      [
        '',
        `readings               ${fmt(READINGS)} in batches of ${BATCH}, ${CONCURRENCY} clients, ${DEVICES} devices, ${SPLIT ? 'api + worker processes' : 'one process (ROLE=all)'}`,
        `platform (durable)     ${fmt(r.platformRate)} readings/s  (${fmt(r.platformMs / 1000, 1)} s; all accepted after ${fmt(r.acceptedMs / 1000, 1)} s)`,
        `direct multi-row       ${fmt(r.directRate)} readings/s  (${fmt(r.directMs / 1000, 1)} s)`,
        `ratio                  ${fmt(r.ratio, 2)}`,
        `identity               a statement takes ×${fmt(r.identityCost, 2)} with it (interleaved pass); direct + identity ≈ ${fmt(r.directWithIdentityRate)} readings/s; ratio against it ${fmt(r.ratioWithIdentity, 2)}`,
        `peak RSS               ${mem}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await dropDatabase(env);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
