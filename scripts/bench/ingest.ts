import { Agent, request } from 'node:http';
import { benchEnv, dropRunData, fmt, peakRssMb, pg, Proc, seedTenant, startProcess } from './platform';
import { createReferenceTables, describe, dropReferenceTables, encode, REFERENCE, rowsOfBodies, runReference, truncateReferenceTables } from './reference';

/**
 * `npm run bench:ingest`: READINGS readings in batches of BATCH from CONCURRENCY clients
 * through POST /telemetry, timed until every reading is durable in Postgres; then the
 * reference (reference.ts): the same rows written the fastest raw way found (COPY from a few
 * connections) into a table built like readings, once without and once with each reading's
 * identity stored in a table built like reading_identities, as the writer stores it
 * (docs/ingest.md). Prints the rates, the ratios, and what the identity costs.
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
  /** Called while batches are accepted, while waiting for durability, and during the reference's write. */
  progress?: (stage: 'accepted' | 'stored' | 'direct', readings: number) => void;
  /** Called after the platform part, before the reference (e.g. to read peak memory). */
  afterPlatform?: () => void;
}

export interface IngestResult {
  readings: number;
  batches: number;
  /** Start of the first POST to the last reading durable in Postgres. */
  platformMs: number;
  /** Start of the first POST to the last 202. */
  acceptedMs: number;
  /** The reference (REFERENCE in reference.ts): the rows alone. */
  directMs: number;
  platformRate: number;
  directRate: number;
  ratio: number;
  /** The reference with each identity stored too (a second COPY in the same transaction). */
  directWithIdentityMs: number;
  directWithIdentityRate: number;
  /** platformRate / directWithIdentityRate: the ratio had the reference paid for the identity too. */
  ratioWithIdentity: number;
  /** directWithIdentityMs / directMs: how much longer the reference takes with the identities. */
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
 * Platform: HTTP → queue → worker → Postgres, until the last reading is durable; then the
 * reference: the same rows, without and then with their identities, into tables built like
 * readings and reading_identities (dropped afterwards).
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
    // Visible is not yet durable: the writer commits without waiting for the WAL flush
    // (docs/ingest.md, "Visible first, durable before the job is acknowledged"), so the clock
    // stops once the WAL is on disk as far as it reached when the last reading was seen.
    const [{ lsn }] = (await db.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows;
    while (!(await db.query('SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS f', [lsn])).rows[0].f) await new Promise((r) => setTimeout(r, 5));
    const platformMs = Date.now() - started;
    agent.destroy();
    o.afterPlatform?.();

    // The reference (reference.ts): the same rows, encoded before the clock starts, written
    // the fastest raw way found into tables built like readings and reading_identities.
    await createReferenceTables(db);
    const rows = rowsOfBodies(bodies, tenant.projectId, (b) => tenant.devices[b % devices].id);
    const plain = encode(rows, { ...REFERENCE, identity: false });
    const withIdentity = encode(rows, { ...REFERENCE, identity: true });
    const directMs = await runReference(o.databaseUrl, plain, REFERENCE.connections, (n) => o.progress?.('direct', n));
    await truncateReferenceTables(db);
    const directWithIdentityMs = await runReference(o.databaseUrl, withIdentity, REFERENCE.connections);
    const referenceStored = Number((await db.query('SELECT count(*)::int AS n FROM ref_readings')).rows[0].n);
    await dropReferenceTables(db);
    if (referenceStored !== readings) throw new Error(`the reference stored ${referenceStored} of ${readings} readings`);
    const identityCost = directWithIdentityMs / directMs;

    const platformRate = readings / (platformMs / 1000);
    const directRate = readings / (directMs / 1000);
    const directWithIdentityRate = readings / (directWithIdentityMs / 1000);
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
        `reference              ${fmt(r.directRate)} readings/s  (${fmt(r.directMs / 1000, 1)} s; ${describe({ ...REFERENCE, identity: false })})`,
        `ratio                  ${fmt(r.ratio, 2)}`,
        `reference + identity   ${fmt(r.directWithIdentityRate)} readings/s  (${fmt(r.directWithIdentityMs / 1000, 1)} s, ×${fmt(r.identityCost, 2)}); ratio against it ${fmt(r.ratioWithIdentity, 2)}`,
        `peak RSS               ${mem}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await dropRunData(env);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
