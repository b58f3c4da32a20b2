import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Arrivals, alertTags, runAlertLoad, seedRules } from './alerts';
import { runWithSilences } from './silences';
import { IngestResult, prepareBodies, runIngest } from './ingest';
import { describe, REFERENCE } from './reference';
import { growthLines, runAnalyticsScale, scaleOptionsFromEnv, scaleRows } from './analytics-scale';
import { runNoDataPhase } from './no-data';
import { runNoisy } from './noisy';
import { api, benchEnv, BenchEnv, cpuShare, cpuSnapshot, dropDatabase, fmt, lanesOf, mulberry32, peakRssMb, percentile, pg, Proc, ROOT, rssMb, seedTenant, startProcess } from './platform';
import { listenLocal, readBody } from '../local-http';
import { Progress } from './progress';
import { runConsoleBenchInto } from './console';
import { deleteKeysWithPrefix } from '../../src/core/redis/delete-prefix';

/**
 * `npm run bench`: the one benchmark. Runs the platform as users do (one api process and
 * WORKERS worker processes on Postgres and Redis), seeds a tenant with DEVICES devices, 20
 * rules of every scope and a webhook to a local sink, and measures in one run:
 *
 *  1. ingestion: READINGS readings through POST /telemetry (batches of 1,000 from 8 clients),
 *     timed until all are durable in Postgres, and its ratio to the fastest raw write of the
 *     same rows into tables built like readings (COPY; ingest.ts's runIngest, reference.ts);
 *  2. POST /telemetry answer → alert.triggered webhook at the sink, p50/p99, under a steady
 *     RATE readings/s (batches of 100) with a breach every 250 ms for ALERT_SECONDS (alerts.ts's
 *     runAlertLoad, timed at the sink instead of the SSE stream);
 *  3. query latency over the stored readings: aggregate, stats (project and one device) and a
 *     device's recent readings, QUERY_REQUESTS sequential requests each (at most QUERY_SECONDS
 *     of them) after a warm-up whose first request (which builds rollups) is reported too;
 *     with LIVE_QUERIES=1 also, during phase 2, project-wide queries of the last hour (one
 *     every 250 ms; informational, and they slow the webhooks measured beside them);
 *  4. peak resident memory (VmHWM) of every platform process;
 *  5. no-data rules (no-data.ts): firing lag of NO_DATA_STOPPING of NO_DATA_DEVICES watched
 *     devices going quiet, and POST → stored latency and CPU with and without the rule under
 *     NO_DATA_RATE one-reading POSTs/s (NO_DATA_SECONDS, 30, is the rule's no_data_seconds).
 *  6. noisy neighbour (noisy.ts): project B's POST → stored (visible), POST → durable and POST → webhook p50/p99 at 1,000
 *     readings/s, alone and while project A sends wide events and many-metric batches, for
 *     NOISY_SECONDS (120) each (B's breaches come every 250 ms: ~480 webhooks a side, so p99 is
 *     the fifth slowest, not the third: docs/ingest.md, item 13), A at most NOISY_A_POSTS_PER_SECOND (4); after the memory figures.
 *  7. with SCALE > 1 only, analytics at SCALE × 1,000,000 readings over 30 days
 *     (analytics-scale.ts, on a platform and database of its own): the 1M figures, the
 *     SCALE × 1M ones and how each grew; LOAD (copy), BACKFILL_ROUNDS (3) and
 *     BACKFILL_DELAYS (0,2,5,caught-up) as there.
 *
 * Prints a table (metric, value, target, pass/fail) and writes bench/results/latest.json.
 * A missed target is a result, not an error: the exit code is non-zero only when the run fails.
 *
 * Settings (environment): READINGS (1,000,000), WORKERS (1), DEVICES (1,000), RATE (2,000),
 * ALERT_SECONDS (30), QUERY_REQUESTS (200), QUERY_SECONDS (60), LIVE_QUERIES=1, KEEP_DB=1 (keep the database for a look at it),
 * SCALE (1; 10 adds phase 7 at 10,000,000 readings),
 * BENCH_DATABASE_URL, BENCH_REDIS_URL.
 */

const int = (name: string, fallback: number, min = 1): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, not ${raw}`);
  return n;
};

const INGEST_BATCH = 1000;
const INGEST_CLIENTS = 8;
const READINGS = Math.ceil(int('READINGS', 1_000_000) / INGEST_BATCH) * INGEST_BATCH;
const WORKERS = int('WORKERS', 1);
const DEVICES = int('DEVICES', 1000);
const RULES = 20;
const RATE = int('RATE', 2000);
const ALERT_BATCH = 100;
const ALERT_SECONDS = int('ALERT_SECONDS', 30);
const BREACH_MS = 250;
const QUERY_REQUESTS = int('QUERY_REQUESTS', 200);
/** …or as many as fit in this many seconds per kind of query, whichever is fewer. */
const QUERY_SECONDS = int('QUERY_SECONDS', 60);
const QUERY_WARMUP = 5;
/** During the alert phase, a project-wide query of the last hour every this many ms. */
const LIVE_QUERY_PAUSE_MS = 250;
/** LIVE_QUERIES=1: run those queries (they load the machine, so the webhook latency measured beside them rises). */
const LIVE_QUERIES = process.env.LIVE_QUERIES === '1';
/** Keep the database afterwards (to look at query plans); everything else is still cleaned up. */
const KEEP_DB = process.env.KEEP_DB === '1';
/** SCALE > 1: phase 7, analytics at SCALE × 1M readings (analytics-scale.ts). */
const SCALE = int('SCALE', 1);
/** Phase 1's readings cover this span, ending SPAN_END_MS before the run starts. */
const SPAN_MS = 24 * 3_600_000;
const SPAN_END_MS = 10 * 60_000;
const HOUR = 3_600_000;

const TARGETS = {
  ratio: 0.8,
  readingsPerSecond: 25_000,
  webhookP99Ms: 250,
  queryP95Ms: 50,
  processMb: 300,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/** The commit measured, and whether src/ (or anything else) had uncommitted changes. */
function gitState(): { commit: string | null; uncommitted_changes: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations', 'package.json'], { cwd: ROOT, encoding: 'utf8' });
    return { commit, uncommitted_changes: status.split('\n').filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { commit: null, uncommitted_changes: [] };
  }
}

/** Every platform process, its lanes included (docs/lanes.md). */
const processes = (procs: Proc[]) => [...procs.map((p) => ({ name: p.name, pid: p.child.pid })), ...lanesOf(procs)];

const memory = (procs: Proc[]) => Object.fromEntries(processes(procs).map((p) => [p.name, peakRssMb(p.pid)]));

const memoryNow = (procs: Proc[]) => Object.fromEntries(processes(procs).map((p) => [p.name, { peak: peakRssMb(p.pid), now: rssMb(p.pid, 'now') }]));

/** The local webhook receiver: answers 200 and notes when each alert.triggered arrives. */
class Sink {
  url = '';
  received = 0;
  byEvent: Record<string, number> = {};
  onTriggered: (body: { device_id: number; rule_id: number; alert_id: number }, at: number) => void = () => {};
  private server: Server;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void readBody(req).then((text) => {
        const at = performance.now();
        res.writeHead(200).end();
        this.received++;
        try {
          const body = JSON.parse(text);
          this.byEvent[body.event] = (this.byEvent[body.event] ?? 0) + 1;
          if (body.event === 'alert.triggered') this.onTriggered(body, at);
        } catch {
          this.byEvent['(unparsable)'] = (this.byEvent['(unparsable)'] ?? 0) + 1;
        }
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.url = `${await listenLocal(this.server)}/hook`;
    return this;
  }

  stop(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

/** One GET, timed from the request to the last byte of a 200 answer. */
function timedGet(agent: Agent, base: URL, p: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ agent, host: base.hostname, port: base.port, path: p, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - t0;
        if (res.statusCode === 200) resolve(ms);
        else reject(new Error(`GET ${p}: ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

interface LatencySummary {
  requests: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function summarize(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    requests: s.length,
    p50: r(percentile(s, 0.5)),
    p95: r(percentile(s, 0.95)),
    p99: r(percentile(s, 0.99)),
    max: r(s[s.length - 1] ?? NaN),
    mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
  };
}

/**
 * Times GETs one after another, a pause between, until stopped: project-wide analytics of the
 * last hour while the alert phase streams readings, so rollups of the current minutes keep
 * changing under the queries.
 */
class LiveQueries {
  readonly samples: Record<string, number[]> = {};
  private running = true;
  private readonly done: Promise<void>;

  constructor(base: URL, headers: Record<string, string>, kinds: { key: string; path: () => string }[], pauseMs: number) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    this.done = (async () => {
      try {
        for (let i = 0; this.running; i++) {
          const k = kinds[i % kinds.length];
          (this.samples[k.key] ??= []).push(await timedGet(agent, base, k.path(), headers));
          await new Promise((r) => setTimeout(r, pauseMs));
        }
      } finally {
        agent.destroy();
      }
    })();
  }

  async stop(): Promise<Record<string, LatencySummary>> {
    this.running = false;
    await this.done;
    return Object.fromEntries(Object.entries(this.samples).map(([k, v]) => [k, summarize(v)]));
  }
}

// ---------------------------------------------------------------------------------------------
// The run

interface Row {
  metric: string;
  value: string;
  target: string;
  pass: boolean | null;
}

function table(rows: Row[]): string {
  const header = ['metric', 'value', 'target', 'result'];
  const cells = rows.map((r) => [r.metric, r.value, r.target, r.pass === null ? '' : r.pass ? 'pass' : 'FAIL']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const env = benchEnv();
  const procs: Proc[] = [];
  const sink = await new Sink().start();
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      stopping = true;
      // Connections the run still holds end when the database goes: not an error any more.
      process.on('uncaughtException', (err) => process.stderr.write(`(during clean-up) ${err.message}\n`));
      for (const p of [...procs].reverse()) await p.stop();
      sink.stop();
      await deleteKeysWithPrefix(env.redisUrl, env.redisPrefix).catch((err) => process.stderr.write(`could not remove Redis keys ${env.redisPrefix}:*: ${err.message}\n`));
      if (KEEP_DB) process.stdout.write(`KEEP_DB: kept ${env.databaseUrl} (drop it with DROP DATABASE … WITH (FORCE))\n`);
      else await dropDatabase(env).catch((err) => process.stderr.write(`could not drop the bench database: ${err.message}\n`));
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stdout.write('\ninterrupted: cleaning up…\n');
      void cleanup().finally(() => process.exit(130));
    });
  }
  // A platform process that dies, or a stray failed request, ends the run (and cleans up)
  // instead of leaving it waiting for readings that never become durable.
  let stopping = false;
  let fail: (err: Error) => void = () => {};
  const watchdog = new Promise<never>((_, reject) => (fail = reject));
  watchdog.catch(() => {});
  process.on('unhandledRejection', (err) => fail(err instanceof Error ? err : new Error(String(err))));
  const guard = <T>(work: Promise<T>): Promise<T> => {
    work.catch(() => {});
    return Promise.race([work, watchdog]);
  };
  const start = async (name: string, role: 'api' | 'worker') => {
    const p = await startProcess(name, role, env, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    procs.push(p);
    p.child.once('exit', (code, signal) => {
      if (!stopping) fail(new Error(`the ${name} process exited (${signal ?? `code ${code}`}) during the run`));
    });
    return p;
  };
  const log = (s: string) => process.stdout.write(`${s}\n`);
  const runStart = Date.now();
  const date = new Date(runStart).toISOString();
  const cpuModel = os.cpus()[0]?.model ?? 'unknown';
  const machine = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cores: os.cpus().length,
    cpu_model: cpuModel,
    total_memory_mb: Math.round(os.totalmem() / 1048576),
    node: process.version,
    load_average_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const git = gitState();
  const config = {
    readings: READINGS,
    devices: DEVICES,
    rules: RULES,
    workers: WORKERS,
    rate: RATE,
    ingest_batch: INGEST_BATCH,
    ingest_clients: INGEST_CLIENTS,
    alert_batch: ALERT_BATCH,
    alert_seconds: ALERT_SECONDS,
    breach_every_ms: BREACH_MS,
    query_requests: QUERY_REQUESTS,
    query_seconds_at_most: QUERY_SECONDS,
    query_warmup: QUERY_WARMUP,
    readings_span_hours: SPAN_MS / HOUR,
    before_queries: 'VACUUM (ANALYZE) readings',
    scale: SCALE,
  };

  try {
    log(`watchpost bench — ${machine.cores} cores (${cpuModel}), ${fmt(machine.total_memory_mb)} MB, node ${process.version}, load ${machine.load_average_at_start.join(' ')}`);
    log(`${fmt(READINGS)} readings, ${fmt(DEVICES)} devices, ${RULES} rules, 1 api + ${WORKERS} worker process${WORKERS > 1 ? 'es' : ''}, database ${new URL(env.databaseUrl).pathname.slice(1)}`);
    const apiProc = await start('api', 'api');
    for (let i = 0; i < WORKERS; i++) await start(`worker${WORKERS > 1 ? i + 1 : ''}`, 'worker');
    const url = apiProc.url!;

    // Seed: devices tagged for the TAG rules, 20 rules, one webhook to the sink.
    const tenant = await guard(seedTenant(url, DEVICES, alertTags));
    const overheatId = await guard(seedRules(url, tenant));
    const rules = await guard(api(url, 'GET', `/projects/${tenant.projectId}/rules?limit=100`, undefined, tenant.auth));
    if (!Array.isArray(rules) || rules.length !== RULES) throw new Error(`expected ${RULES} rules, found ${JSON.stringify(rules).slice(0, 200)}`);
    await guard(api(url, 'POST', `/projects/${tenant.projectId}/webhooks`, { url: sink.url }, tenant.auth));
    log(`seeded project ${tenant.projectId}: ${fmt(tenant.devices.length)} devices, ${RULES} rules (ALL, TAG, EXPLICIT), webhook → ${sink.url}`);

    const cpu: Record<string, { seconds: number; percent_of_a_core: Record<string, number> }> = {};
    const memoryByPhase: Record<string, Record<string, { peak: number | null; now: number | null }>> = {};
    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const c0 = cpuSnapshot(procs);
      const t0 = performance.now();
      const out = await fn();
      const seconds = (performance.now() - t0) / 1000;
      cpu[name] = { seconds: Math.round(seconds * 10) / 10, percent_of_a_core: cpuShare(c0, cpuSnapshot(procs), seconds) };
      memoryByPhase[name] = memoryNow(procs);
      return out;
    };

    // 1. Ingestion. Each device's readings are spread over the 24 h before the run (device d's
    // j-th reading at start + (j·D + d)·step), so the queries later find a day of history.
    const batches = READINGS / INGEST_BATCH;
    const withData = Math.min(DEVICES, batches);
    const spanEnd = runStart - SPAN_END_MS;
    const spanStart = spanEnd - SPAN_MS;
    const step = SPAN_MS / READINGS;
    const ts = (b: number, i: number) => spanStart + Math.floor(((Math.floor(b / withData) * INGEST_BATCH + i) * withData + (b % withData)) * step);
    const ingestOptions = { apiUrl: url, databaseUrl: env.databaseUrl, tenant, readings: READINGS, batch: INGEST_BATCH, concurrency: INGEST_CLIENTS, ts };
    // A worker is up once one reading (a day before phase 1's span, outside every query window)
    // goes through the queue into Postgres; start-up time must not count as ingestion time.
    await guard(
      (async () => {
        const warmTs = new Date(spanStart - 86_400_000).toISOString();
        await api(url, 'POST', '/telemetry', { device_external_id: tenant.devices[0].external_id, events: [{ ts: warmTs, data: { temperature: 20, humidity: 50 } }] }, tenant.auth);
        const db = await pg(env.databaseUrl);
        db.on('error', (err) => fail(err));
        try {
          const deadline = Date.now() + 120_000;
          while (Number((await db.query('SELECT count(*)::int AS n FROM readings')).rows[0].n) < 1) {
            if (Date.now() > deadline) throw new Error('no worker stored a reading within 120 s of starting');
            await new Promise((r) => setTimeout(r, 100));
          }
        } finally {
          await db.end();
        }
      })(),
    );
    log(`preparing ${fmt(batches)} batches of ${fmt(INGEST_BATCH)}…`);
    const bodies = prepareBodies(ingestOptions);
    let bar = new Progress('ingest (accepted)', READINGS, 'readings');
    let direct: Progress | null = null;
    let c0 = cpuSnapshot(procs);
    let t0 = performance.now();
    const cpuSince = (name: string) => {
      const seconds = (performance.now() - t0) / 1000;
      cpu[name] = { seconds: Math.round(seconds * 10) / 10, percent_of_a_core: cpuShare(c0, cpuSnapshot(procs), seconds) };
      memoryByPhase[name] = memoryNow(procs);
      c0 = cpuSnapshot(procs);
      t0 = performance.now();
    };
    let ingest: IngestResult;
    try {
      ingest = await guard(runIngest(
        {
          ...ingestOptions,
          progress: (stage, n) => {
            if (stage === 'accepted') bar.update(n);
            else if (stage === 'stored') bar.update(n, { label: 'ingest (durable)' });
            else direct?.update(n);
          },
          afterPlatform: () => {
            cpuSince('ingest via HTTP');
            bar.finish();
            direct = bar = new Progress('reference', READINGS, 'readings');
          },
        },
        bodies,
      ));
      cpuSince('reference');
      bar.finish();
    } catch (err) {
      bar.abort();
      throw err;
    }
    bodies.length = 0;
    log(
      `ingest: ${fmt(ingest.platformRate)} readings/s durable (all accepted after ${fmt(ingest.acceptedMs / 1000, 1)} s, durable after ${fmt(ingest.platformMs / 1000, 1)} s); ` +
        `reference ${fmt(ingest.directRate)} readings/s; ratio ${fmt(ingest.ratio, 2)}`,
    );
    const db = await pg(env.databaseUrl);
    db.on('error', (err) => fail(err));
    const storage = (
      await db.query(
        `SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint AS bytes FROM pg_partition_tree('readings')`,
      )
    ).rows[0];
    const readingsMb = Math.round(Number(storage.bytes) / 1048576);

    // 2. POST answer → webhook at the sink, under steady load with breaches.
    const arrivals = new Arrivals();
    let foreign = 0;
    sink.onTriggered = (body, at) => {
      if (Number(body.rule_id) === overheatId && !arrivals.arrived(Number(body.device_id), at)) foreign++;
    };
    const alertBar = new Progress('alerts → webhook', 0, 'readings');
    const lastHour = () => `from=${encodeURIComponent(new Date(Date.now() - HOUR).toISOString())}`;
    const live = LIVE_QUERIES
      ? new LiveQueries(new URL(url), tenant.auth, [
          { key: 'stats_last_hour', path: () => '/telemetry/stats?metric=temperature&window=1h' },
          { key: 'aggregate_last_hour', path: () => `/telemetry/aggregate?metric=temperature&interval=1m&${lastHour()}` },
        ], LIVE_QUERY_PAUSE_MS)
      : null;
    let load: Awaited<ReturnType<typeof runAlertLoad>>;
    try {
      load = await phase('alerts', () =>
        guard(runAlertLoad({
          apiUrl: url,
          tenant,
          arrivals,
          rate: RATE,
          batch: ALERT_BATCH,
          seconds: ALERT_SECONDS,
          breachMs: BREACH_MS,
          drainMs: 10_000,
          onTick: (s) => {
            if (s.elapsedMs >= ALERT_SECONDS * 1000) alertBar.stopRateClock();
            alertBar.update(s.sent, {
              fraction: s.elapsedMs / (ALERT_SECONDS * 1000),
              note: `webhooks ${s.seen}/${s.breaches}${s.elapsedMs > ALERT_SECONDS * 1000 ? ' (waiting for the last)' : ''}`,
            });
          },
        })),
      );
      alertBar.finish(`webhooks ${arrivals.latencies.length}/${load.breaches}`);
    } catch (err) {
      alertBar.abort();
      throw err;
    }
    const liveQueries = (await live?.stop()) ?? {};
    if (live) log(
      `during the alert load, project-wide queries of the last hour: ${Object.entries(liveQueries)
        .map(([k, q]) => `${k} p50 ${fmt(q.p50, 1)} ms, p95 ${fmt(q.p95, 1)} ms (${q.requests})`)
        .join('; ')}`,
    );
    const webhook = summarize(arrivals.latencies);
    const missing = arrivals.pending.size;
    log(
      `alerts: ${fmt(load.sent / load.elapsed)} readings/s for ${fmt(load.elapsed, 1)} s; ${arrivals.latencies.length} of ${load.breaches} breaches arrived as webhooks` +
        `${missing ? ` (${missing} missing after 10 s)` : ''}; POST → webhook p50 ${fmt(webhook.p50)} ms, p99 ${fmt(webhook.p99)} ms, max ${fmt(webhook.max)} ms`,
    );
    // 2b. The same load with 100 active silences in the project (half recurring; see silences.ts).
    const silenced = await phase('alerts with silences', () =>
      guard(runWithSilences({ apiUrl: url, tenant, rate: RATE, batch: ALERT_BATCH, seconds: ALERT_SECONDS, breachMs: BREACH_MS, drainMs: 10_000, breachRuleId: overheatId, listen: (a) => (sink.onTriggered = (body, at) => void (Number(body.rule_id) === overheatId && a.arrived(Number(body.device_id), at))) })),
    );
    const withSilences = { silences: silenced.silences, recurring: silenced.recurring, breaches: silenced.load.breaches, missing: silenced.arrivals.pending.size, post_to_webhook_ms: summarize(silenced.arrivals.latencies) };
    log(`alerts with ${withSilences.silences} silences (${withSilences.recurring} recurring): POST → webhook p50 ${fmt(withSilences.post_to_webhook_ms.p50)} ms, p99 ${fmt(withSilences.post_to_webhook_ms.p99)} ms (without: p99 ${fmt(webhook.p99)} ms)`);

    // 3. Queries over the stored readings, in the steady state autovacuum brings a bulk load to.
    const vacuumStart = performance.now();
    await db.query('VACUUM (ANALYZE) readings');
    const vacuumSeconds = (performance.now() - vacuumStart) / 1000;
    const stored = Number((await db.query('SELECT count(*)::bigint AS n FROM readings')).rows[0].n);
    await db.end();
    log(`queries over ${fmt(stored)} stored readings (${fmt(readingsMb)} MB; VACUUM ANALYZE took ${fmt(vacuumSeconds, 1)} s), ${QUERY_REQUESTS} sequential requests each (or ${QUERY_SECONDS} s) after ${QUERY_WARMUP} warm-up`);
    const random = mulberry32(20261201);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const devicesWithData = tenant.devices.slice(0, withData);
    /** A window of 1–24 h inside phase 1's span. */
    const window = () => {
      const len = HOUR + Math.floor(random() * (SPAN_MS - HOUR));
      const from = spanStart + Math.floor(random() * (SPAN_MS - len));
      return `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(from + len).toISOString())}`;
    };
    const kinds: { key: string; label: string; path: () => string }[] = [
      { key: 'aggregate', label: 'GET /telemetry/aggregate (1h buckets, 1–24 h)', path: () => `/telemetry/aggregate?metric=temperature&interval=1h&${window()}` },
      { key: 'stats', label: 'GET /telemetry/stats (project, 1–24 h)', path: () => `/telemetry/stats?metric=temperature&${window()}` },
      { key: 'stats_device', label: 'GET /telemetry/stats?device_id (1–24 h)', path: () => `/telemetry/stats?metric=temperature&device_id=${pick(devicesWithData).id}&${window()}` },
      { key: 'recent', label: 'GET /telemetry/devices/{id}/telemetry?limit=100', path: () => `/telemetry/devices/${pick(devicesWithData).id}/telemetry?limit=100` },
    ];
    const queries: Record<string, LatencySummary> = {};
    /** The first request of each kind: project-wide ones build the rollups of the hours they read. */
    const firstQuery: Record<string, number> = {};
    await phase('queries', () => guard((async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const base = new URL(url);
      try {
        for (const k of kinds) {
          const warmup: number[] = [];
          for (let i = 0; i < QUERY_WARMUP; i++) warmup.push(await timedGet(agent, base, k.path(), tenant.auth));
          firstQuery[k.key] = Math.round(warmup[0] * 10) / 10;
          const qbar = new Progress(`query ${k.key}`, QUERY_REQUESTS, 'requests');
          const samples: number[] = [];
          try {
            const until = performance.now() + QUERY_SECONDS * 1000;
            for (let i = 0; i < QUERY_REQUESTS && performance.now() < until; i++) {
              samples.push(await timedGet(agent, base, k.path(), tenant.auth));
              const s = summarize(samples);
              const byTime = 1 - (until - performance.now()) / (QUERY_SECONDS * 1000);
              qbar.update(samples.length, { fraction: Math.max(samples.length / QUERY_REQUESTS, byTime), note: `p50 ${fmt(s.p50, 1)} ms, p95 ${fmt(s.p95, 1)} ms` });
            }
          } catch (err) {
            qbar.abort();
            throw err;
          }
          queries[k.key] = summarize(samples);
          qbar.finish();
        }
      } finally {
        agent.destroy();
      }
    })()));

    // 5. No-data rules: NO_DATA_DEVICES (100,000) watched, NO_DATA_STOPPING (1,000) go quiet (no-data.ts).
    const noData = await phase('no-data', () => guard(runNoDataPhase({ apiUrl: url, databaseUrl: env.databaseUrl, procs, devices: int('NO_DATA_DEVICES', 100_000), stopping: int('NO_DATA_STOPPING', 1_000), rate: int('NO_DATA_RATE', 2_000), noDataSeconds: int('NO_DATA_SECONDS', 30), baselineSeconds: 20, log })));

    // 4. Peak resident memory of each process over the whole run.
    const peak = memory(procs);
    const bench = peakRssMb(process.pid);

    // 5. Noisy neighbour.
    const noisy = await phase('noisy neighbour', () =>
      guard(runNoisy({ apiUrl: url, databaseUrl: env.databaseUrl, seconds: int('NOISY_SECONDS', 120), rate: 1000, aPostsPerSecond: int('NOISY_A_POSTS_PER_SECOND', 4), samplesFile: process.env.NOISY_SAMPLES, log })),
    );

    // 7. Analytics at SCALE × 1M readings, on a platform of its own.
    const scaled =
      SCALE > 1
        ? await phase('analytics at scale', () => guard(runAnalyticsScale({ ...scaleOptionsFromEnv(log), scale: SCALE, queryRequests: QUERY_REQUESTS, querySeconds: QUERY_SECONDS, keepDb: KEEP_DB })))
        : null;

    // The table.
    const rows: Row[] = [];
    const row = (metric: string, value: string, target = '', pass: boolean | null = null) => rows.push({ metric, value, target, pass });
    row(`ingest: durable readings/s (${fmt(READINGS)} via HTTP)`, `${fmt(ingest.platformRate)}/s`, `≥ ${fmt(TARGETS.readingsPerSecond)}/s`, ingest.platformRate >= TARGETS.readingsPerSecond);
    row(`ingest: reference (${describe({ ...REFERENCE, identity: false })})`, `${fmt(ingest.directRate)}/s`);
    row('ingest: ratio HTTP durable / reference', fmt(ingest.ratio, 2), `≥ ${TARGETS.ratio}`, ingest.ratio >= TARGETS.ratio);
    row('ingest: reference with the identities stored', `${fmt(ingest.directWithIdentityRate)}/s (identity costs ×${fmt(ingest.identityCost, 2)})`);
    row('ingest: ratio HTTP durable / reference with identities', fmt(ingest.ratioWithIdentity, 2));
    row(`alerts: load (${RATE}/s target, batches of ${ALERT_BATCH})`, `${fmt(load.sent / load.elapsed)}/s for ${fmt(load.elapsed)} s`);
    row('alerts: breaches → webhooks arrived', `${arrivals.latencies.length} of ${load.breaches}${missing ? ` (${missing} missing)` : ''}`);
    row('alerts: POST answer → webhook p50 / p99', `${fmt(webhook.p50)} / ${fmt(webhook.p99)} ms`, `p99 ≤ ${TARGETS.webhookP99Ms} ms`, missing === 0 && webhook.p99 <= TARGETS.webhookP99Ms);
    row(`alerts: … with ${withSilences.silences} silences p50 / p99 (without: p99)`, `${fmt(withSilences.post_to_webhook_ms.p50)} / ${fmt(withSilences.post_to_webhook_ms.p99)} ms (${fmt(webhook.p99)} ms)`, `p99 ≤ ${TARGETS.webhookP99Ms} ms`, withSilences.missing === 0 && withSilences.post_to_webhook_ms.p99 <= TARGETS.webhookP99Ms);
    for (const k of kinds) {
      const q = queries[k.key];
      row(`query: ${k.label} p50 / p95`, `${fmt(q.p50, 1)} / ${fmt(q.p95, 1)} ms${q.requests < QUERY_REQUESTS ? ` (${q.requests} in ${QUERY_SECONDS} s)` : ''}`, `p95 ≤ ${TARGETS.queryP95Ms} ms`, q.p95 <= TARGETS.queryP95Ms);
    }
    row('query: first aggregate / stats (builds rollups)', `${fmt(firstQuery.aggregate, 0)} / ${fmt(firstQuery.stats, 1)} ms`);
    for (const [key, q] of Object.entries(liveQueries)) row(`query under the alert load: ${key} p50 / p95`, `${fmt(q.p50, 1)} / ${fmt(q.p95, 1)} ms`);
    const nd = noData.probe_post_to_stored_ms;
    if (!noData.skipped) row('no-data: due → triggered_at p50 / p99', `${fmt(noData.due_to_triggered_at_ms.p50)} / ${fmt(noData.due_to_triggered_at_ms.p99)} ms`);
    row(`no-data: due → alert seen p50 / p99 (${fmt(noData.stopping)} of ${fmt(noData.devices)} stop)`, noData.skipped ? 'not measured (see log)' : `${fmt(noData.firing_lag_ms.p50)} / ${fmt(noData.firing_lag_ms.p99)} ms`, 'p99 ≤ 2,000 ms', noData.alerts_missing === 0 && noData.firing_lag_ms.p99 <= 2000);
    row('no-data: POST → stored p50 without / with the rule', `${fmt(nd.baseline.p50, 1)} / ${fmt(nd.with_rule.p50, 1)} ms`, '≤ +10 %', nd.with_rule.p50 <= nd.baseline.p50 * 1.1);
    for (const [name, mb] of Object.entries(peak)) {
      row(`memory: peak RSS ${name}`, mb === null ? 'n/a' : `${fmt(mb)} MB`, `≤ ${TARGETS.processMb} MB`, mb !== null && mb <= TARGETS.processMb);
    }
    for (const [k, label] of [['stored', 'POST → stored'], ['durable', 'POST → durable'], ['webhook', 'POST → webhook']] as const) {
      const [alone, busy] = [noisy.without_a[k], noisy.with_a[k]];
      row(`noisy: B ${label} p50 / p99 alone`, `${fmt(alone.p50)} / ${fmt(alone.p99)} ms`);
      row(`noisy: B ${label} p50 / p99 with A`, `${fmt(busy.p50)} / ${fmt(busy.p99)} ms`, '≤ 1.5× alone (p99)', busy.p99 <= 1.5 * alone.p99);
    }
    if (scaled) rows.push(...scaleRows(scaled));
    const passed = rows.filter((r) => r.pass === true).length;
    const failed = rows.filter((r) => r.pass === false).length;

    const cpuLine = (name: string, shares: Record<string, number>) =>
      `  ${name.padEnd(22)} ${Object.entries(shares).map(([k, v]) => `${k} ${v}%`).join(', ')}`;
    process.stdout.write(
      [
        '',
        table(rows),
        '',
        `${passed} of ${passed + failed} targets met.`,
        ...(scaled ? [...growthLines(scaled), ''] : []),
        'CPU, % of one core (postgres and redis: all of the machine\'s processes of that name):',
        ...Object.entries(cpu).map(([name, c]) => cpuLine(`${name} ${fmt(c.seconds, 0)} s`, c.percent_of_a_core)),
        '',
      ].join('\n'),
    );

    const result = {
      date,
      duration_seconds: Math.round((Date.now() - runStart) / 1000),
      machine,
      config,
      git,
      figures: {
        ingest: {
          readings: ingest.readings,
          batches: ingest.batches,
          platform_readings_per_second: Math.round(ingest.platformRate),
          platform_seconds: ingest.platformMs / 1000,
          all_accepted_after_seconds: ingest.acceptedMs / 1000,
          direct_readings_per_second: Math.round(ingest.directRate),
          direct_seconds: ingest.directMs / 1000,
          ratio: Math.round(ingest.ratio * 1000) / 1000,
          direct_with_identity_readings_per_second: Math.round(ingest.directWithIdentityRate),
          direct_with_identity_seconds: ingest.directWithIdentityMs / 1000,
          ratio_with_identity: Math.round(ingest.ratioWithIdentity * 1000) / 1000,
          identity_cost: Math.round(ingest.identityCost * 1000) / 1000,
          readings_table_mb: readingsMb,
        },
        alerts: {
          readings_sent: load.sent,
          seconds: Math.round(load.elapsed * 10) / 10,
          readings_per_second: Math.round(load.sent / load.elapsed),
          breaches: load.breaches,
          webhooks_arrived: arrivals.latencies.length,
          webhooks_missing: missing,
          unmatched_overheat_webhooks: foreign,
          sink_requests_by_event: sink.byEvent,
          post_to_webhook_ms: webhook,
          with_silences: withSilences,
        },
        queries: {
          stored_readings: stored,
          vacuum_analyze_seconds: Math.round(vacuumSeconds * 10) / 10,
          ...Object.fromEntries(kinds.map((k) => [k.key, { request: k.label, ...queries[k.key], first_ms: firstQuery[k.key] }])),
          during_alert_load: liveQueries,
        },
        no_data: noData,
        noisy_neighbour: noisy,
        ...(scaled ? { analytics_scale: scaled } : {}),
        peak_rss_mb: peak,
        peak_rss_mb_after_phase: memoryByPhase,
        bench_process_peak_rss_mb: bench,
        cpu_percent_of_a_core: cpu,
      },
      targets: rows
        .filter((r) => r.pass !== null)
        .map((r) => ({ metric: r.metric, value: r.value, target: r.target, pass: r.pass })),
      targets_met: passed,
      targets_missed: failed,
    };
    const dir = path.join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'latest.json');
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`written to ${path.relative(process.cwd(), file) || file}`);
    if (process.env.BENCH_CONSOLE !== '0') await runConsoleBenchInto(file);
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`\nbench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
