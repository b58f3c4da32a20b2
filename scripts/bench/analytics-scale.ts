import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { Client } from 'pg';
import { copyIn, copyRow } from './copy';
import { ADMIN_TOKEN, api, benchEnv, dropRunData, fmt, mulberry32, percentile, pg, Proc, ROOT, startProcess } from './platform';
import { Progress } from './progress';

/**
 * Analytics at SCALE × 1,000,000 readings (issue 15, "10× the data"; docs/benchmarks.md):
 * 1,000 readings per device over 30 days, SCALE × 1,000 devices, on a platform of its own
 * (api + worker, fresh database). With SCALE > 1 it first loads and measures the 1,000,000
 * readings of SCALE=1 (1,000 devices), then adds the other devices' readings and measures
 * again, so one run shows how every figure grows.
 *
 * Each stage: load the stage's readings (LOAD=copy: COPY into readings and reading_identities
 * plus the rollup marks a backfill leaves; LOAD=http: POST /telemetry as phase 1 of the bench
 * does), VACUUM ANALYZE, then:
 *  - the first query after the load (aggregate, 1 d buckets over the 30 days: it builds or
 *    rebuilds the rollups of every hour; a COPY load bypasses the reading writer, so no
 *    catch-up job runs before it);
 *  - per kind of query, QUERY_WARMUP requests, then QUERY_REQUESTS sequential ones (at most
 *    QUERY_SECONDS of them), each over a random window of its length inside the 30 days;
 *  - per project-wide kind and per delay of BACKFILL_DELAYS, BACKFILL_ROUNDS times: a backfill
 *    through POST /telemetry (SCALE devices × 1,000 readings over the last day of the span,
 *    which the writer records as deltas of those 24 hours, as they have rollups, and queues
 *    the worker's catch-up job, which merges them), then, that
 *    long after it is durable (or once the worker has caught it up: `caught-up`), the first
 *    query of that kind over a window that holds it; and how long after the backfill was
 *    durable the worker had caught it up, where that was seen before the query.
 *
 *   SCALE=10 node dist/scripts/bench/analytics-scale.js    (after npm run build)
 *
 * `SCALE=10 npm run bench` runs it after the other phases (all.ts).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SPAN_MS = 30 * DAY;
/** The span ends this long before the run starts (as in phase 1 of the bench). */
const SPAN_END_MS = 10 * 60_000;
const PER_DEVICE = 1000;
const DEVICES_PER_SCALE = 1000;
const COPY_ROWS = 5000;
const COPY_CONNECTIONS = 2;
const HTTP_CLIENTS = 8;
const QUERY_WARMUP = 5;
const TARGET_P95_MS = 50;
/** How long a `caught-up` round waits for the worker's catch-up, and a round for the catch-up queue to settle. */
const CATCH_UP_WAIT_MS = 120_000;
const CATCH_UP_QUEUE = 'rollup-catch-up';

/** Seconds after a backfill is durable, or once the worker has caught it up. */
export type BackfillDelay = number | 'caught-up';
const delayLabel = (d: BackfillDelay) => (d === 'caught-up' ? 'caught-up' : `${d}s`);
const delayText = (label: string) => (label === 'caught-up' ? 'once caught up' : `${label.slice(0, -1)} s`);

export interface ScaleOptions {
  scale: number;
  load: 'copy' | 'http';
  queryRequests: number;
  querySeconds: number;
  backfillRounds: number;
  backfillDelays: BackfillDelay[];
  /** Keep the database afterwards (to look at query plans). */
  keepDb?: boolean;
  log: (line: string) => void;
}

export interface Summary {
  requests: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface StageResult {
  readings: number;
  devices: number;
  load_seconds: number;
  load_readings_per_second: number;
  vacuum_analyze_seconds: number;
  readings_mb: number;
  /** The first aggregate over the 30 days after the load: builds (or rebuilds) every hour's rollups. */
  first_after_load_ms: number;
  queries: Record<string, Summary & { label: string; first_ms: number }>;
  /**
   * Per project-wide kind, per delay after the backfill was durable ('0s', '2s', …, or
   * 'caught-up': once the worker had caught it up): the first request, one per round (ms).
   */
  first_after_backfill_ms: Record<string, Record<string, number[]>>;
  /** How long after a backfill was durable the worker had caught it up (ms), in the rounds that saw it before their query. */
  backfill_caught_up_ms: number[];
}

export interface ScaleResult {
  scale: number;
  load: 'copy' | 'http';
  stages: StageResult[];
}

interface Kind {
  key: string;
  label: string;
  /** Window length; 0 for none. */
  span: number;
  device: boolean;
  path: (window: string, deviceId: number) => string;
}

const KINDS: Kind[] = [
  { key: 'aggregate_1h_1d', label: 'aggregate (project, 1 h buckets over 1 day)', span: DAY, device: false, path: (w) => `/telemetry/aggregate?metric=temperature&interval=1h&${w}` },
  { key: 'aggregate_1d_30d', label: 'aggregate (project, 1 d buckets over 30 days)', span: SPAN_MS, device: false, path: (w) => `/telemetry/aggregate?metric=temperature&interval=1d&${w}` },
  { key: 'stats_1h', label: 'stats (project, 1 h)', span: HOUR, device: false, path: (w) => `/telemetry/stats?metric=temperature&${w}` },
  { key: 'stats_24h', label: 'stats (project, 24 h)', span: DAY, device: false, path: (w) => `/telemetry/stats?metric=temperature&${w}` },
  { key: 'stats_30d', label: 'stats (project, 30 days)', span: SPAN_MS, device: false, path: (w) => `/telemetry/stats?metric=temperature&${w}` },
  { key: 'stats_device_24h', label: 'stats?device_id (24 h)', span: DAY, device: true, path: (w, d) => `/telemetry/stats?metric=temperature&device_id=${d}&${w}` },
  { key: 'stats_device_30d', label: 'stats?device_id (30 days)', span: SPAN_MS, device: true, path: (w, d) => `/telemetry/stats?metric=temperature&device_id=${d}&${w}` },
  { key: 'recent', label: 'devices/{id}/telemetry?limit=100', span: 0, device: true, path: (_, d) => `/telemetry/devices/${d}/telemetry?limit=100` },
];

function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { requests: s.length, p50: r(percentile(s, 0.5)), p95: r(percentile(s, 0.95)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1] ?? NaN) };
}

function send(agent: Agent, base: URL, method: 'GET' | 'POST', p: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const h = body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    const req = request({ agent, host: base.hostname, port: base.port, path: p, method, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Where device k's readings sit in the layout: device k's j-th reading is at
 * start + (j·D + slot(k))·step. The first 1,000 devices take every SCALE-th slot, so alone
 * they are SCALE=1's layout; the others fill the slots between.
 */
function slotOf(k: number, scale: number): number {
  if (k < DEVICES_PER_SCALE || scale === 1) return k * scale;
  const r = k - DEVICES_PER_SCALE;
  return Math.floor(r / (scale - 1)) * scale + 1 + (r % (scale - 1));
}

const valuesOf = (k: number, j: number) => ({ temperature: 20 + ((k * 7 + j) % 70), humidity: 40 + (j % 30) });

/** Runs the phase on a platform and database of its own. */
export async function runAnalyticsScale(o: ScaleOptions): Promise<ScaleResult> {
  const env = benchEnv();
  const procs: Proc[] = [];
  const log = o.log;
  try {
    const apiProc = await startProcess('scale-api', 'api', env);
    procs.push(apiProc);
    procs.push(await startProcess('scale-worker', 'worker', env));
    const base = new URL(apiProc.url!);
    const db = await pg(env.databaseUrl);
    db.on('error', () => {});
    try {
      const admin = { 'X-Admin-Token': ADMIN_TOKEN };
      const org = await api(apiProc.url!, 'POST', '/orgs', { name: 'scale' }, admin);
      const project = await api(apiProc.url!, 'POST', `/orgs/${org.id}/projects`, { name: 'scale' }, admin);
      const key = await api(apiProc.url!, 'POST', `/projects/${project.id}/api-keys`, { name: 'scale' }, admin);
      const auth = { 'X-API-Key': key.api_key as string };
      const projectId = Number(project.id);
      const total = o.scale * DEVICES_PER_SCALE;
      const spanEnd = Date.now() - SPAN_END_MS;
      const spanStart = spanEnd - SPAN_MS;
      const step = SPAN_MS / (total * PER_DEVICE);
      const tsOf = (k: number, j: number) => spanStart + Math.floor((j * total + slotOf(k, o.scale)) * step);
      // The daily partitions a deployment running for these 30 days would have made.
      await db.query(
        `SELECT ensure_readings_partition(d::date) FROM generate_series(($1::timestamptz AT TIME ZONE 'UTC')::date, ($2::timestamptz AT TIME ZONE 'UTC')::date, '1 day') AS d`,
        [new Date(spanStart), new Date(spanEnd)],
      );
      const devices: { id: number; external_id: string }[] = [];
      const stages = o.scale > 1 ? [DEVICES_PER_SCALE, total] : [total];
      const result: ScaleResult = { scale: o.scale, load: o.load, stages: [] };
      let backfills = 0;
      for (const upTo of stages) {
        const from = devices.length;
        log(`analytics at scale: adding devices ${fmt(from)}–${fmt(upTo - 1)}…`);
        await addDevices(apiProc.url!, projectId, auth, devices, upTo);
        const readings = upTo * PER_DEVICE;
        const t0 = performance.now();
        if (o.load === 'copy') await loadByCopy(env.databaseUrl, db, projectId, devices.slice(from), from, tsOf, spanStart, spanEnd);
        else await loadByHttp(base, auth, db, devices.slice(from), from, tsOf);
        const loadSeconds = (performance.now() - t0) / 1000;
        const loaded = Number((await db.query(`SELECT count(*)::bigint AS n FROM readings WHERE project_id = $1 AND event_id NOT LIKE 'bf%'`, [projectId])).rows[0].n);
        if (loaded !== readings) throw new Error(`expected ${readings} loaded readings in the project, found ${loaded}`);
        const v0 = performance.now();
        await db.query('VACUUM (ANALYZE) readings');
        const vacuumSeconds = (performance.now() - v0) / 1000;
        const mb = Math.round(Number((await db.query(`SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint AS b FROM pg_partition_tree('readings')`)).rows[0].b) / 1048576);
        log(`analytics at scale: ${fmt(readings)} readings of ${fmt(upTo)} devices loaded (${o.load}) in ${fmt(loadSeconds, 1)} s (${fmt((upTo - from) * PER_DEVICE / loadSeconds)}/s); VACUUM ANALYZE ${fmt(vacuumSeconds, 1)} s; readings ${fmt(mb)} MB`);
        const stage = await measureStage({ o, base, auth, db, devices, projectId, spanStart, spanEnd, nextBackfill: () => backfills++ });
        result.stages.push({ readings, devices: upTo, load_seconds: Math.round(loadSeconds * 10) / 10, load_readings_per_second: Math.round(((upTo - from) * PER_DEVICE) / loadSeconds), vacuum_analyze_seconds: Math.round(vacuumSeconds * 10) / 10, readings_mb: mb, ...stage });
      }
      return result;
    } finally {
      await db.end();
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    if (o.keepDb) log(`KEEP_DB: kept ${env.databaseUrl} (drop it with DROP DATABASE … WITH (FORCE))`);
    else await dropRunData(env).catch((err) => log(`could not drop ${env.databaseUrl}: ${err.message}`));
  }
}

async function addDevices(url: string, projectId: number, auth: Record<string, string>, into: { id: number; external_id: string }[], upTo: number): Promise<void> {
  while (into.length < upTo) {
    const at = into.length;
    const chunk = await Promise.all(
      Array.from({ length: Math.min(50, upTo - at) }, (_, j) => api(url, 'POST', `/projects/${projectId}/devices`, { external_id: `dev-${at + j}`, name: `Device ${at + j}` }, auth)),
    );
    into.push(...chunk.map((d) => ({ id: Number(d.id), external_id: d.external_id as string })));
  }
}

/**
 * The fastest honest path: COPY readings and their identities (reference.ts's method), then
 * what the writer leaves after a bulk backfill, in which every flush has more than
 * MAX_SPREAD_VALUES values of each hour over more than MAX_DELTA_MINUTES of its minutes
 * (freshness/rollup-changes.ts): one rollup mark per metric and hour (the writer appends one
 * per flush; the marks' number does not change what is rebuilt), the metrics admitted to
 * rollups, and the devices' last_seen_at moved to now. Without the marks, rollups built before this
 * load (the previous stage's) would go on answering without its readings.
 */
async function loadByCopy(
  databaseUrl: string,
  db: Client,
  projectId: number,
  devices: { id: number }[],
  firstK: number,
  tsOf: (k: number, j: number) => number,
  spanStart: number,
  spanEnd: number,
): Promise<void> {
  const total = devices.length * PER_DEVICE;
  const bar = new Progress('load (COPY)', total, 'readings');
  const conns = await Promise.all(Array.from({ length: COPY_CONNECTIONS }, () => pg(databaseUrl)));
  const perChunk = COPY_ROWS / PER_DEVICE;
  let next = 0;
  let done = 0;
  try {
    await Promise.all(
      conns.map(async (c) => {
        while (next < devices.length) {
          const first = next;
          next += perChunk;
          const readings: string[] = [];
          const ids: string[] = [];
          for (let i = first; i < Math.min(first + perChunk, devices.length); i++) {
            const k = firstK + i;
            const d = devices[i].id;
            for (let j = 0; j < PER_DEVICE; j++) {
              const ts = new Date(tsOf(k, j)).toISOString();
              readings.push(copyRow([projectId, d, `r${j}`, ts, JSON.stringify(valuesOf(k, j))]));
              ids.push(copyRow([d, `r${j}`, ts]));
            }
          }
          await c.query('BEGIN');
          await copyIn(c, 'reading_identities', 'device_id, event_id, ts', Buffer.from(ids.join('')));
          await copyIn(c, 'readings', 'project_id, device_id, event_id, ts, payload', Buffer.from(readings.join('')));
          await c.query('COMMIT');
          bar.update((done += readings.length));
        }
      }),
    );
    bar.finish();
  } catch (err) {
    bar.abort();
    throw err;
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
  await db.query(`UPDATE devices SET last_seen_at = now() WHERE id = ANY($1::bigint[])`, [devices.map((d) => d.id)]);
  await db.query(
    `INSERT INTO metric_rollup_marks (project_id, metric, hour)
     SELECT $1, m, h FROM unnest($2::text[]) AS m,
            generate_series(date_bin('1 hour', $3::timestamptz, TIMESTAMPTZ 'epoch'), $4::timestamptz, '1 hour') AS h`,
    [projectId, Object.keys(valuesOf(0, 0)), new Date(spanStart), new Date(spanEnd)],
  );
  // The writer admits a project's metrics to rollups before it first writes them (RollupMetrics).
  await db.query(`INSERT INTO rollup_metrics (project_id, metric) SELECT $1, m FROM unnest($2::text[]) AS m ON CONFLICT DO NOTHING`, [
    projectId,
    Object.keys(valuesOf(0, 0)),
  ]);
}

/** Through the platform, as phase 1 of the bench: one device's 1,000 readings per POST, HTTP_CLIENTS at once, until durable. */
async function loadByHttp(base: URL, auth: Record<string, string>, db: Client, devices: { id: number; external_id: string }[], firstK: number, tsOf: (k: number, j: number) => number): Promise<void> {
  const total = devices.length * PER_DEVICE;
  const before = Number((await db.query('SELECT count(*)::bigint AS n FROM readings')).rows[0].n);
  const bar = new Progress('load (POST /telemetry)', total, 'readings');
  const agent = new Agent({ keepAlive: true, maxSockets: HTTP_CLIENTS });
  let next = 0;
  let accepted = 0;
  try {
    await Promise.all(
      Array.from({ length: HTTP_CLIENTS }, async () => {
        while (next < devices.length) {
          const i = next++;
          const k = firstK + i;
          const events = Array.from({ length: PER_DEVICE }, (_, j) => ({ ts: new Date(tsOf(k, j)).toISOString(), event_id: `r${j}`, data: valuesOf(k, j) }));
          const res = await send(agent, base, 'POST', '/telemetry', auth, JSON.stringify({ device_external_id: devices[i].external_id, events }));
          if (res.status !== 202) throw new Error(`POST /telemetry answered ${res.status}: ${res.text.slice(0, 200)}`);
          bar.update((accepted += PER_DEVICE), { note: 'accepted' });
        }
      }),
    );
    for (;;) {
      const stored = Number((await db.query('SELECT count(*)::bigint AS n FROM readings')).rows[0].n) - before;
      bar.update(stored, { note: 'durable' });
      if (stored >= total) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    bar.finish();
  } catch (err) {
    bar.abort();
    throw err;
  } finally {
    agent.destroy();
  }
}

interface StageContext {
  o: ScaleOptions;
  base: URL;
  auth: Record<string, string>;
  db: Client;
  devices: { id: number; external_id: string }[];
  projectId: number;
  spanStart: number;
  spanEnd: number;
  /** The number of this backfill (their event ids must differ across stages). */
  nextBackfill: () => number;
}

async function measureStage(c: StageContext): Promise<Pick<StageResult, 'first_after_load_ms' | 'queries' | 'first_after_backfill_ms' | 'backfill_caught_up_ms'>> {
  const { o, base, auth, spanStart, spanEnd } = c;
  const random = mulberry32(20261215);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
  const get = async (p: string) => {
    const res = await send(agent, base, 'GET', p, auth);
    if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${res.text.slice(0, 300)}`);
    return res;
  };
  /** A window of `len` inside the span (a 30-day one may start up to 12 h before it). */
  const window = (len: number) => {
    const slack = Math.max(0, len - SPAN_MS + 12 * HOUR);
    const from = spanStart - slack + Math.floor(random() * (SPAN_MS - len + slack));
    return `from=${iso(from)}&to=${iso(from + len)}`;
  };
  const device = () => c.devices[Math.floor(random() * c.devices.length)].id;
  try {
    // The first query after the load builds every hour's rollups; then the whole span's count must be every reading's.
    const whole = `from=${iso(spanStart - HOUR)}&to=${iso(spanEnd + HOUR)}`;
    const first = await get(`/telemetry/aggregate?metric=temperature&interval=1d&${whole}`);
    const counted = (JSON.parse(first.text).buckets as { count: number }[]).reduce((n, b) => n + b.count, 0);
    const expected = c.devices.length * PER_DEVICE + Number((await c.db.query(`SELECT count(*)::bigint AS n FROM readings WHERE project_id = $1 AND event_id LIKE 'bf%'`, [c.projectId])).rows[0].n);
    if (counted !== expected) throw new Error(`aggregate over the span counted ${counted} readings, not ${expected}: rollups missed a load`);
    const job = o.load === 'copy' ? 'COPY bypasses the writer, so no catch-up job ran' : 'the catch-up job may have rebuilt hours of the previous stage meanwhile';
    o.log(`analytics at scale: first query after the load (aggregate, 1 d buckets over 30 days; builds every hour; ${job}): ${fmt(first.ms)} ms`);
    // This server runs without autovacuum; with it, the rollup tables just filled would be
    // analyzed within a minute, and the planner's choice of index ranges depends on it.
    await c.db.query('ANALYZE metric_rollups, metric_rollup_marks, metric_rollup_deltas, metric_rollup_hour_deltas');

    const queries: StageResult['queries'] = {};
    for (const k of KINDS) {
      const pathOf = () => k.path(window(k.span), device());
      const warm: number[] = [];
      for (let i = 0; i < QUERY_WARMUP; i++) warm.push((await get(pathOf())).ms);
      const samples: number[] = [];
      const bar = new Progress(`query ${k.key}`, o.queryRequests, 'requests');
      const until = performance.now() + o.querySeconds * 1000;
      for (let i = 0; i < o.queryRequests && performance.now() < until; i++) {
        samples.push((await get(pathOf())).ms);
        const s = summarize(samples);
        bar.update(samples.length, { fraction: Math.max(samples.length / o.queryRequests, 1 - (until - performance.now()) / (o.querySeconds * 1000)), note: `p50 ${fmt(s.p50, 1)} ms, p95 ${fmt(s.p95, 1)} ms` });
      }
      bar.finish();
      queries[k.key] = { label: k.label, ...summarize(samples), first_ms: Math.round(warm[0] * 10) / 10 };
    }

    // Backfills through the platform, each followed, after a delay, by the first query of one kind over a window that holds it.
    const firsts: StageResult['first_after_backfill_ms'] = {};
    const caughtUp: number[] = [];
    const backfillDevices = Math.max(1, Math.round(c.devices.length / DEVICES_PER_SCALE));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
    // The marks and deltas the backfill left on the hours the queries read (temperature:
    // humidity's hours have no rollups, which the catch-up job leaves to the query that first reads them).
    const pending = async () =>
      Number(
        (
          await c.db.query(
            `SELECT (SELECT count(*) FROM metric_rollup_marks WHERE project_id = $1 AND metric = 'temperature' AND hour >= $2)
                  + (SELECT count(*) FROM metric_rollup_deltas WHERE project_id = $1 AND metric = 'temperature' AND minute >= $2)
                  + (SELECT count(*) FROM metric_rollup_hour_deltas WHERE project_id = $1 AND metric = 'temperature' AND hour >= $2) AS n`,
            [c.projectId, new Date(spanEnd - DAY - HOUR)],
          )
        ).rows[0].n,
      );
    const catchUpJobs = async () => {
      const text = await (await fetch(new URL('/metrics', base))).text();
      let n = 0;
      for (const m of text.matchAll(/^watchpost_queue_jobs\{queue="([^"]+)",state="(waiting|active|delayed)"\} (\d+)/gm)) if (m[1] === CATCH_UP_QUEUE) n += Number(m[3]);
      return n;
    };
    /** Until nothing is marked and no catch-up job waits or runs, so the next round starts clean. */
    const settle = async () => {
      const deadline = performance.now() + CATCH_UP_WAIT_MS;
      while ((await pending()) > 0 || (await catchUpJobs()) > 0) {
        if (performance.now() > deadline) {
          o.log(`analytics at scale: the catch-up queue did not settle within ${CATCH_UP_WAIT_MS / 1000} s; going on`);
          return;
        }
        await sleep(50);
      }
    };
    for (const k of KINDS.filter((x) => !x.device)) {
      firsts[k.key] = {};
      for (const delay of o.backfillDelays) {
        const times: number[] = (firsts[k.key][delayLabel(delay)] = []);
        for (let r = 0; r < o.backfillRounds; r++) {
          await settle();
          const n = c.nextBackfill();
          await backfill(c, agent, n, backfillDevices);
          const durable = performance.now();
          if (delay !== 0) {
            const until = durable + (delay === 'caught-up' ? CATCH_UP_WAIT_MS : delay * 1000);
            for (;;) {
              if ((await pending()) === 0) {
                caughtUp.push(Math.round(performance.now() - durable));
                break;
              }
              if (performance.now() >= until) break;
              await sleep(20);
            }
            if (delay !== 'caught-up') await sleep(until - performance.now());
          }
          const to = spanEnd - Math.floor(random() * HOUR);
          times.push(Math.round((await get(k.path(`from=${iso(to - k.span)}&to=${iso(to)}`, 0))).ms * 10) / 10);
          // Whatever that query and the job left marked is rebuilt before the next backfill.
          await get(`/telemetry/aggregate?metric=temperature&interval=1d&${whole}`);
        }
        o.log(`analytics at scale: first ${k.label} ${delayText(delayLabel(delay))} after a backfill of ${fmt(backfillDevices * PER_DEVICE)} readings over the last day: ${times.map((x) => fmt(x, 1)).join(', ')} ms`);
      }
    }
    await settle();
    if (caughtUp.length) o.log(`analytics at scale: backfills caught up by the worker ${caughtUp.map((x) => fmt(x)).join(', ')} ms after durable`);
    return { first_after_load_ms: Math.round(first.ms), queries, first_after_backfill_ms: firsts, backfill_caught_up_ms: caughtUp };
  } finally {
    agent.destroy();
  }
}

/** `devices` devices' 1,000 readings each over the span's last day, through POST /telemetry, until durable. */
async function backfill(c: StageContext, agent: Agent, n: number, devices: number): Promise<void> {
  const ids: number[] = [];
  const posts: Promise<void>[] = [];
  for (let i = 0; i < devices; i++) {
    const dev = c.devices[(n * 7919 + i * 104_729) % c.devices.length];
    ids.push(dev.id);
    const events = Array.from({ length: PER_DEVICE }, (_, j) => ({
      ts: new Date(c.spanEnd - DAY + Math.floor((j * DAY) / PER_DEVICE) + i).toISOString(),
      event_id: `bf${n}-${j}`,
      data: valuesOf(i, j),
    }));
    posts.push(
      send(agent, c.base, 'POST', '/telemetry', c.auth, JSON.stringify({ device_external_id: dev.external_id, events })).then((res) => {
        if (res.status !== 202) throw new Error(`backfill POST answered ${res.status}: ${res.text.slice(0, 200)}`);
      }),
    );
  }
  await Promise.all(posts);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stored = Number((await c.db.query(`SELECT count(*)::int AS n FROM reading_identities WHERE device_id = ANY($1::bigint[]) AND event_id LIKE $2`, [ids, `bf${n}-%`])).rows[0].n);
    if (stored >= devices * PER_DEVICE) return;
    if (Date.now() > deadline) throw new Error(`backfill ${n}: ${stored} of ${devices * PER_DEVICE} readings durable after 60 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lines for the bench's table: the last stage's figures against the target, and how each grew from the first stage. */
export function scaleRows(r: ScaleResult): { metric: string; value: string; target: string; pass: boolean | null }[] {
  const rows: { metric: string; value: string; target: string; pass: boolean | null }[] = [];
  const last = r.stages[r.stages.length - 1];
  const firstStage = r.stages[0];
  const at = `${fmt(last.readings / 1e6)}M`;
  const growth = (a: number, b: number) => (r.stages.length > 1 ? ` (${fmt(firstStage.readings / 1e6)}M: ${fmt(a, 1)} ms, ×${fmt(b / a, 1)})` : '');
  for (const k of KINDS) {
    const q = last.queries[k.key];
    const q1 = firstStage.queries[k.key];
    rows.push({
      metric: `${at}: ${q.label} p50 / p95`,
      value: `${fmt(q.p50, 1)} / ${fmt(q.p95, 1)} ms${growth(q1.p95, q.p95)}`,
      target: `p95 ≤ ${TARGET_P95_MS} ms`,
      pass: q.p95 <= TARGET_P95_MS,
    });
  }
  for (const [key, byDelay] of Object.entries(last.first_after_backfill_ms)) {
    for (const [label, ms] of Object.entries(byDelay)) {
      const worst = Math.max(...ms);
      const before = firstStage.first_after_backfill_ms[key]?.[label];
      // Right after the backfill the query catches up itself (or waits for the job): no target.
      const targeted = label !== '0s';
      rows.push({
        metric: `${at}: first ${last.queries[key].label} ${delayText(label)} after a backfill (worst of ${ms.length})`,
        value: `${fmt(worst, 1)} ms${before ? growth(Math.max(...before), worst) : ''}`,
        target: targeted ? `≤ ${TARGET_P95_MS} ms` : '',
        pass: targeted ? worst <= TARGET_P95_MS : null,
      });
    }
  }
  if (last.backfill_caught_up_ms.length) {
    const sorted = [...last.backfill_caught_up_ms].sort((a, b) => a - b);
    rows.push({
      metric: `${at}: backfill caught up by the worker, after durable (median / worst of ${sorted.length})`,
      value: `${fmt(sorted[Math.floor(sorted.length / 2)])} / ${fmt(sorted[sorted.length - 1])} ms`,
      target: '',
      pass: null,
    });
  }
  rows.push({
    metric: `${at}: first query after the load (builds every hour's rollups)`,
    value: `${fmt(last.first_after_load_ms)} ms${growth(firstStage.first_after_load_ms, last.first_after_load_ms)}`,
    target: '',
    pass: null,
  });
  return rows;
}

/** How each figure grew from the first stage to the last, one line each. */
export function growthLines(r: ScaleResult): string[] {
  if (r.stages.length < 2) return [];
  const [a, b] = [r.stages[0], r.stages[r.stages.length - 1]];
  const m = (s: StageResult) => `${fmt(s.readings / 1e6)}M`;
  const lines = [`how each figure grows from ${m(a)} to ${m(b)} readings (p50 / p95 ms):`];
  for (const k of KINDS) {
    const [x, y] = [a.queries[k.key], b.queries[k.key]];
    lines.push(`  ${k.label.padEnd(48)} ${`${fmt(x.p50, 1)} / ${fmt(x.p95, 1)}`.padStart(15)} → ${`${fmt(y.p50, 1)} / ${fmt(y.p95, 1)}`.padStart(15)}   p95 ×${fmt(y.p95 / x.p95, 1)}`);
  }
  const med = (v: number[]) => v[Math.floor(v.length / 2)];
  for (const [key, byDelay] of Object.entries(b.first_after_backfill_ms)) {
    for (const label of Object.keys(byDelay)) {
      const before = a.first_after_backfill_ms[key]?.[label];
      if (!before) continue;
      const [x, y] = [before, byDelay[label]].map((v) => [...v].sort((p, q) => p - q));
      lines.push(`  ${`first after a backfill: ${key}, ${delayText(label)}`.padEnd(48)} ${`${fmt(med(x), 1)} / ${fmt(x[x.length - 1], 1)}`.padStart(15)} → ${`${fmt(med(y), 1)} / ${fmt(y[y.length - 1], 1)}`.padStart(15)}   worst ×${fmt(y[y.length - 1] / x[x.length - 1], 1)}   (median / worst)`);
    }
  }
  lines.push(`  ${'first query after the load'.padEnd(48)} ${fmt(a.first_after_load_ms).padStart(15)} → ${fmt(b.first_after_load_ms).padStart(15)}   ×${fmt(b.first_after_load_ms / a.first_after_load_ms, 1)}`);
  return lines;
}

export function scaleOptionsFromEnv(log: (line: string) => void): ScaleOptions {
  const int = (name: string, fallback: number) => {
    const n = Number(process.env[name] || fallback);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be an integer ≥ 1`);
    return n;
  };
  const load = process.env.LOAD ?? 'copy';
  if (load !== 'copy' && load !== 'http') throw new Error('LOAD must be copy or http');
  const backfillDelays = (process.env.BACKFILL_DELAYS || '0,2,5,caught-up').split(',').map((d): BackfillDelay => {
    const x = d.trim();
    if (x === 'caught-up') return x;
    const n = Number(x);
    if (x === '' || !Number.isFinite(n) || n < 0) throw new Error('BACKFILL_DELAYS must list seconds ≥ 0 or caught-up, e.g. 0,2,5,caught-up');
    return n;
  });
  return {
    scale: int('SCALE', 10),
    load,
    queryRequests: int('QUERY_REQUESTS', 200),
    querySeconds: int('QUERY_SECONDS', 60),
    backfillRounds: int('BACKFILL_ROUNDS', 3),
    backfillDelays,
    keepDb: process.env.KEEP_DB === '1',
    log,
  };
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const o = scaleOptionsFromEnv(log);
  log(`analytics at scale: SCALE=${o.scale} (${fmt(o.scale * DEVICES_PER_SCALE * PER_DEVICE)} readings, ${fmt(o.scale * DEVICES_PER_SCALE)} devices, 30 days), LOAD=${o.load}`);
  const r = await runAnalyticsScale(o);
  const rows = scaleRows(r);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((x) => [x.metric, x.value, x.target][i].length)));
  log('');
  for (const x of rows) log(`${x.metric.padEnd(widths[0])}  ${x.value.padEnd(widths[1])}  ${x.target.padEnd(widths[2])}  ${x.pass === null ? '' : x.pass ? 'pass' : 'FAIL'}`.trimEnd());
  log('');
  for (const line of growthLines(r)) log(line);
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'analytics-scale.json');
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2)}\n`);
  log(`written to ${path.relative(process.cwd(), file) || file}`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
