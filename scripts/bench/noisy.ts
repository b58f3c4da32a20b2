import { fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { Agent, createServer, request, Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { alertTags, Arrivals, runAlertLoad, seedRules } from './alerts';
import { listenLocal, readBody } from '../local-http';
import { api, benchEnv, drainQueues, dropRunData, percentile, pg, Proc, queuedJobs, seedTenant, startProcess } from './platform';
import { lowerOwnPriority } from '../../src/core/lanes/lane-child';
import { QUEUES } from '../../src/core/queue/queues';
import { parseVar } from '../../src/config/env.schema';

/**
 * The "noisy neighbour" phase of `npm run bench` (issue 13): project B streams `rate`
 * readings/s with 20 rules and a webhook (alerts.ts's load, a breach every 250 ms) and sends a
 * one-reading probe batch every PROBE_MS; for B it reports POST → stored (the probe's identity
 * committed and visible), POST → durable (its commit on disk) and POST answer → webhook,
 * p50/p99, without A and while project A sends, as fast as its pace allows (`aPostsPerSecond`,
 * closed loop: at most A_SENDERS requests in flight), 10,000-key events and 5,000-event batches
 * of 5,000 distinct metrics, with 20 rules of window_n 10,000 over its narrow devices.
 *
 * B runs throughout; A runs in the windows of SCHEDULE, which interleaves the two sides
 * (without, with, with, without, without, with, with, without: `seconds` a side in quarters),
 * so that whatever else the machine does over the phase (a checkpoint, another service's
 * burst, drift) falls on both sides alike instead of on whichever came second. A window with
 * A opens RAMP_MS after A starts; one without A opens SETTLE_MS after A's queues have drained.
 * A sample belongs to the window its POST was answered (webhook) or sent (probes) in; those of
 * a window's last TAIL_MS are not counted. docs/ingest.md explains what the phase shows.
 */

const PROBE_MS = 100;
const PROBE_DEVICES = 10;
const A_SENDERS = 3;
const WIDE_KEYS = 10_000;
const METRICS_PER_BATCH = 5_000;
const RAMP_MS = 2_000;
const SETTLE_MS = 1_000;
const TAIL_MS = 1_000;

type Side = 'without_a' | 'with_a';
/** The windows, in quarters of `seconds`: each side gets four, and their centres coincide. */
const SCHEDULE: [Side, number][] = [
  ['without_a', 1],
  ['with_a', 2],
  ['without_a', 2],
  ['with_a', 2],
  ['without_a', 1],
];
/** A's queues: a window without A opens once they are empty. */
const A_QUEUES: string[] = [QUEUES.telemetryIngestBulk, QUEUES.ruleEvaluationHeavy];

export interface NoisyOptions {
  apiUrl: string;
  databaseUrl: string;
  /** Seconds a side. */
  seconds: number;
  rate: number;
  aPostsPerSecond: number;
  /** Seconds of B alone before the first window, not reported (fresh processes and a new project warm up); default 20: the first window without A was slower than the other two in most runs after a 5 s warm-up. */
  warmupSeconds?: number;
  log?: (line: string) => void;
  /** Writes every sample (kind, ms since the first window, latency) and the windows here (NOISY_SAMPLES). */
  samplesFile?: string;
}

export interface Latency {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export interface NoisySide {
  /** Until the probe's reading is visible (committed). */
  stored: Latency & { missing: number };
  /** Until its commit is on disk: the WAL flushed past the end of its transaction's commit record (pg_walinspect). */
  durable: Latency & { missing: number };
  /** What durable was before: until the WAL is flushed past where it was when the probe was seen (an upper bound, which also counts what others wrote meanwhile). */
  durable_by_seen: Latency;
  webhook: Latency & { breaches: number; missing: number };
}

export interface NoisyWindow {
  side: Side;
  seconds: number;
  stored_p99: number;
  webhook_p99: number;
}

export interface NoisyResult {
  without_a: NoisySide;
  with_a: NoisySide;
  /** The windows in the order they ran, each with its own p99s (the spread within a side). */
  windows: NoisyWindow[];
  a_sent: { wide_events: number; metric_batches: number; readings: number; distinct_metrics: number; seconds: number };
  /** B's p99 with A over without A. */
  stored_p99_ratio: number;
  durable_p99_ratio: number;
  webhook_p99_ratio: number;
}

/** A WAL position ("16/B374D848") as a number. */
const lsnOf = (text: string): bigint => {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

/** The index of the first of `xs` for which `after` holds, `after` being false, then true, along `xs` (xs.length: none). */
function firstWhere<T>(xs: readonly T[], after: (x: T) => boolean): number {
  let [lo, hi] = [0, xs.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (after(xs[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Whether a transaction's commit record can be found in the WAL (pg_walinspect, in Postgres's
 * contrib; creating it takes a superuser, as the bench's own database has). Without it, a
 * probe's POST → durable is bounded by the WAL insert position when it was seen, which also
 * counts whatever others wrote between its commit and that poll.
 */
async function commitLsnsReadable(db: Client): Promise<boolean> {
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    return true;
  } catch {
    return false;
  }
}

/** Where transaction `xid`'s commit record ends, looked up between two WAL positions already flushed. */
async function commitEnd(db: Client, xid: string, from: string, to: string): Promise<bigint | undefined> {
  const r = await db
    .query(
      `SELECT end_lsn::text AS e FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
        WHERE xid = $3::xid AND resource_manager = 'Transaction' AND record_type LIKE 'COMMIT%'`,
      [from, to, xid],
    )
    .catch(() => ({ rows: [] as { e: string }[] })); // counted as not found
  return r.rows.length ? lsnOf(r.rows[0].e) : undefined;
}

const summary = (xs: number[]): Latency => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { samples: s.length, p50: r(percentile(s, 0.5)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1] ?? NaN) };
};

/**
 * POST, resent once when the connection was closed under it (a keep-alive connection the
 * server timed out just as it was reused): the body's event_ids make a resend safe, as any
 * client of POST /telemetry may do.
 */
function postJson(agent: Agent, base: URL, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return postOnce(agent, base, path, headers, body).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET' || /socket hang up/.test(err.message)) return postOnce(agent, base, path, headers, body);
    throw err;
  });
}

function postOnce(agent: Agent, base: URL, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: base.hostname, port: base.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits (at most a minute) until no job of A's queues waits or runs. */
async function drainA(apiUrl: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const queued = await queuedJobs(apiUrl);
    if (A_QUEUES.every((q) => !queued[q])) return;
    await sleep(200);
  }
}

export async function runNoisy(o: NoisyOptions): Promise<NoisyResult> {
  const log = o.log ?? (() => {});
  const base = new URL(o.apiUrl);
  // Not an earlier phase's backlog either (all.ts).
  const drained = await drainQueues(o.apiUrl);
  if (drained.seconds >= 1) log(`noisy neighbour: waited ${drained.seconds} s for ${JSON.stringify(drained.queued)} jobs queued before it`);
  const seeded = await seedTenant(o.apiUrl, 50 + PROBE_DEVICES, alertTags);
  // The probes have devices of their own: their readings carry wall-clock times, newer than the
  // load's event times (alerts.ts), so on a load device they would push its breaches out of
  // the newest window_n readings and no alert would open.
  const b = { ...seeded, devices: seeded.devices.slice(0, 50) };
  const probeDevices = seeded.devices.slice(50);
  const overheat = await seedRules(o.apiUrl, b);
  const arrivals = new Arrivals();
  const sink: Server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const at = performance.now();
      res.writeHead(200).end();
      try {
        const body = JSON.parse(text);
        if (body.event === 'alert.triggered' && Number(body.rule_id) === overheat) arrivals.arrived(Number(body.device_id), at);
      } catch {
        // not ours
      }
    });
  });
  sink.keepAliveTimeout = 60_000;
  const sinkUrl = `${await listenLocal(sink)}/noisy`;
  await api(o.apiUrl, 'POST', `/projects/${b.projectId}/webhooks`, { url: sinkUrl }, b.auth);

  const a = await seedTenant(o.apiUrl, 6, (i) => (i === 0 ? ['wide'] : ['narrow']));
  for (let r = 0; r < 20; r++) {
    await api(o.apiUrl, 'POST', `/projects/${a.projectId}/rules`, { name: `wide-window-${r}`, metric: 'shared', operator: '>', threshold: 1e9, window_n: 10_000, required_k: 1, cooldown_seconds: 0, scope: 'TAG', tag: 'narrow' }, a.auth);
  }

  const db = await pg(o.databaseUrl);
  db.on('error', () => {});
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const aSender = { apiUrl: o.apiUrl, auth: a.auth, devices: a.devices, aPostsPerSecond: o.aPostsPerSecond };
  let aLoad: ReturnType<typeof startA> | null = null;
  const aSent: NoisyResult['a_sent'] = { wide_events: 0, metric_batches: 0, readings: 0, distinct_metrics: 0, seconds: 0 };
  const stopA = async () => {
    if (!aLoad) return;
    const sent = await aLoad.stop();
    aLoad = null;
    for (const k of Object.keys(aSent) as (keyof typeof aSent)[]) aSent[k] = Math.round((aSent[k] + sent[k]) * 10) / 10;
  };

  /** Samples by the time their POST was sent (probes) or answered (webhooks). */
  const stored: { t0: number; ms: number }[] = [];
  const durable: { t0: number; ms: number }[] = [];
  /** The bound durable was measured by before (the WAL flushed past where it was when the probe was seen), for comparison. */
  const durableBySeen: { t0: number; ms: number }[] = [];
  const pending = new Map<string, { deviceId: number; t0: number }>();
  /**
   * Seen, not yet known on disk: the probe's commit lies between `lo` (the WAL insert position
   * read by a poll that ended before its POST was sent) and `hi` (the one read when it was seen).
   */
  const unflushed = new Map<string, { t0: number; xid: string; lo: string; hi: string }>();
  /** Every poll's end and the WAL positions it read: when a commit reached the disk is read off it. */
  const polls: { at: number; insert: string; flushed: bigint }[] = [];
  const inspect = await pg(o.databaseUrl);
  inspect.on('error', () => {});
  const lookups: Promise<void>[] = [];
  const exact = await commitLsnsReadable(inspect);
  if (!exact) log('noisy neighbour: pg_walinspect is not available to this role: POST → durable is bounded by the WAL position when the probe was seen');
  let commitsNotFound = 0;
  const windows: { side: Side; from: number; to: number }[] = [];
  const stopB = new AbortController();
  let running = true;
  let stopAt = Infinity;
  let probeSeq = 0;

  /**
   * One poll: the WAL insert and flush positions, and which of `pending`'s probes are stored
   * (with their transaction). The positions are read after the statement's snapshot: a commit
   * it sees is before `insert`.
   */
  const poll = async () => {
    const ids = [...pending.keys()];
    const r = (
      await db.query(
        `SELECT pg_current_wal_insert_lsn()::text AS insert, pg_current_wal_flush_lsn()::text AS flushed,
                (SELECT coalesce(json_agg(json_build_array(event_id, xmin::text)), '[]') FROM reading_identities
                  WHERE (device_id, event_id) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))) AS found`,
        [ids.map((k) => pending.get(k)!.deviceId), ids],
      )
    ).rows[0];
    return { at: performance.now(), insert: r.insert as string, flushed: lsnOf(r.flushed), found: r.found as [string, string][] };
  };
  // A first position, read before any probe is sent (none is pending): every probe's commit is after one.
  polls.push(await poll());
  const probes = (async () => {
    while (running) {
      const device = probeDevices[probeSeq % probeDevices.length];
      const eventId = `probe-${probeSeq++}`;
      const t0 = performance.now();
      const body = JSON.stringify({ device_external_id: device.external_id, events: [{ ts: new Date().toISOString(), data: { temperature: 21, humidity: 50 }, event_id: eventId }] });
      void postJson(agent, base, '/telemetry', b.auth, body).then(
        (status) => {
          if (status === 202) pending.set(eventId, { deviceId: device.id, t0 });
        },
        () => undefined, // not accepted: neither timed nor counted missing
      );
      await sleep(PROBE_MS);
    }
  })();
  /** When the first poll saw the WAL flushed past `lsn` (polls' flush positions only grow). */
  const flushedAt = (lsn: bigint): number | undefined => polls[firstWhere(polls, (p) => p.flushed >= lsn)]?.at;
  const poller = (async () => {
    while (running || pending.size || unflushed.size) {
      const { found, ...now } = await poll();
      const { at, flushed, insert } = now;
      for (const [eventId, xid] of found) {
        const { t0 } = pending.get(eventId)!;
        stored.push({ t0, ms: at - t0 });
        const before = polls[firstWhere(polls, (p) => p.at >= t0) - 1];
        unflushed.set(eventId, { t0, xid, lo: before!.insert, hi: insert });
        pending.delete(eventId);
      }
      polls.push(now);
      for (const [id, u] of unflushed) {
        if (lsnOf(u.hi) > flushed) continue;
        unflushed.delete(id);
        durableBySeen.push({ t0: u.t0, ms: at - u.t0 });
        // pg_walinspect reads only flushed WAL: the commit's own record is looked up now, on
        // a connection of its own, so that the polls keep their pace.
        lookups.push(
          (exact ? commitEnd(inspect, u.xid, u.lo, u.hi) : Promise.resolve(undefined)).then((commit) => {
            if (exact && commit === undefined) commitsNotFound++;
            durable.push({ t0: u.t0, ms: (commit === undefined ? at : flushedAt(commit)!) - u.t0 });
          }),
        );
      }
      await sleep(10);
      // A probe still unstored a minute after the load is counted as missing, not waited for.
      if (performance.now() > stopAt + 60_000) break;
    }
  })();
  const load = runAlertLoad({ apiUrl: o.apiUrl, tenant: b, arrivals, rate: o.rate, batch: 100, seconds: 24 * 3600, breachMs: 250, drainMs: 10_000, signal: stopB.signal });

  try {
    const warmup = o.warmupSeconds ?? 20;
    log(`noisy neighbour: project B (${o.rate} readings/s, 20 rules, a probe every ${PROBE_MS} ms) alone for ${warmup} s (warm-up, not reported), then ${o.seconds} s a side without and with A (10,000-key events and 5,000-metric batches, ${o.aPostsPerSecond} POST/s at most, 20 window_n 10,000 rules), interleaved…`);
    await sleep(warmup * 1000);
    for (const [side, quarters] of SCHEDULE) {
      if (side === 'with_a' && !aLoad) {
        // NOISY_A_POSTS_PER_SECOND=0, a control run: A stays silent and both sides are B alone,
        // so their ratio is the phase's own spread on the machine (docs/ingest.md, item 14).
        if (o.aPostsPerSecond > 0) aLoad = startA({ ...aSender, first: windows.length * 1_000_000 });
        await sleep(RAMP_MS);
      }
      if (side === 'without_a' && aLoad) {
        await stopA();
        await drainA(o.apiUrl);
        await sleep(SETTLE_MS);
      }
      const from = performance.now();
      await sleep((quarters * o.seconds * 1000) / 4);
      windows.push({ side, from, to: performance.now() - TAIL_MS });
    }
  } finally {
    await stopA();
    stopB.abort();
    const loaded = await load.catch((err: Error) => err);
    running = false;
    stopAt = performance.now();
    await probes;
    await poller;
    await Promise.all(lookups);
    await inspect.end();
    agent.destroy();
    sink.closeAllConnections();
    sink.close();
    await db.end();
    if (loaded instanceof Error) throw loaded;
  }

  type Window = (typeof windows)[number];
  const inAny = (t0: number, ws: Window[]) => ws.some((w) => t0 >= w.from && t0 < w.to);
  const of = (xs: { t0: number; ms: number }[], ws: Window[]) => xs.filter((x) => inAny(x.t0, ws)).map((x) => x.ms);
  const webhooks = arrivals.latencies.map((ms, i) => ({ t0: arrivals.sentAt[i], ms }));
  const sideOf = (side: Side): NoisySide => {
    const ws = windows.filter((w) => w.side === side);
    const unstored = [...pending.values()].filter((p) => inAny(p.t0, ws)).length;
    const unarrived = [...arrivals.pending.values()].filter((t0) => inAny(t0, ws)).length;
    const hooks = of(webhooks, ws);
    return {
      stored: { ...summary(of(stored, ws)), missing: unstored },
      durable: { ...summary(of(durable, ws)), missing: unstored + [...unflushed.values()].filter((u) => inAny(u.t0, ws)).length },
      durable_by_seen: summary(of(durableBySeen, ws)),
      webhook: { ...summary(hooks), breaches: hooks.length + unarrived, missing: unarrived },
    };
  };
  const without = sideOf('without_a');
  const withA = sideOf('with_a');
  const perWindow = windows.map((w) => ({
    side: w.side,
    seconds: Math.round((w.to - w.from + TAIL_MS) / 100) / 10,
    stored_p99: summary(of(stored, [w])).p99,
    webhook_p99: summary(of(webhooks, [w])).p99,
  }));
  if (o.samplesFile) {
    // Every sample and window, times in ms from the first window's start: where a side's slow ones fall.
    const zero = windows[0]?.from ?? 0;
    const rows = [
      // The first window's start as wall-clock time (ms since the epoch), to match the samples with a server's log.
      `zero\t${Math.round(performance.timeOrigin + zero)}`,
      ...windows.map((w) => `window\t${w.side}\t${Math.round(w.from - zero)}\t${Math.round(w.to - zero)}`),
      ...Object.entries({ stored, durable, durable_by_seen: durableBySeen, webhook: webhooks }).flatMap(([kind, xs]) => xs.map((x) => `${kind}\t${Math.round(x.t0 - zero)}\t${Math.round(x.ms * 10) / 10}`)),
    ];
    writeFileSync(o.samplesFile, `${rows.join('\n')}\n`);
  }
  log(`  B without A: POST → stored p50/p99 ${without.stored.p50}/${without.stored.p99} ms; POST → durable ${without.durable.p50}/${without.durable.p99} ms (by the WAL position when seen ${without.durable_by_seen.p50}/${without.durable_by_seen.p99}); POST → webhook ${without.webhook.p50}/${without.webhook.p99} ms`);
  log(`  B with A:    POST → stored p50/p99 ${withA.stored.p50}/${withA.stored.p99} ms; POST → durable ${withA.durable.p50}/${withA.durable.p99} ms (by the WAL position when seen ${withA.durable_by_seen.p50}/${withA.durable_by_seen.p99}); POST → webhook ${withA.webhook.p50}/${withA.webhook.p99} ms; A sent ${JSON.stringify(aSent)}`);
  if (commitsNotFound) log(`  ${commitsNotFound} probes' commit records not found between the WAL positions before and when seen: those count until the WAL passed the latter`);
  log(`  by window (stored / webhook p99 ms): ${perWindow.map((w) => `${w.side === 'with_a' ? 'with' : 'without'} ${w.stored_p99}/${w.webhook_p99}`).join(', ')}`);
  return {
    without_a: without,
    with_a: withA,
    windows: perWindow,
    a_sent: aSent,
    stored_p99_ratio: Math.round((withA.stored.p99 / without.stored.p99) * 100) / 100,
    durable_p99_ratio: Math.round((withA.durable.p99 / without.durable.p99) * 100) / 100,
    webhook_p99_ratio: Math.round((withA.webhook.p99 / without.webhook.p99) * 100) / 100,
  };
}

interface ASender {
  apiUrl: string;
  auth: Record<string, string>;
  devices: { external_id: string }[];
  aPostsPerSecond: number;
  /** Numbers this sender's requests from `first` on, so event ids and metric names never repeat across A's windows. */
  first: number;
}

/**
 * A's load runs in a process of its own, as A's client would run on machines of its own:
 * building a 10,000-key event or a 5,000-event batch takes an event loop for milliseconds at a
 * time, which on B's would delay B's probes and the timing of their answers (the bench would
 * measure itself). The process is a session of its own at the lanes' priority
 * (lowerOwnPriority with the lanes' LOW_PRIORITY_NICE and LOW_PRIORITY_IDLE_CLASS: nice,
 * where the kernel groups CPU time by session its own group, and the idle class), so
 * the client's CPU is not taken from B's client or the platform, which share the bench's
 * session; A's offered load is the same, paced by aPostsPerSecond. What the platform sees is the
 * same.
 */
function startA(o: ASender): { stop(): Promise<NoisyResult['a_sent']> } {
  const child = fork(__filename, [], { env: { ...process.env, NOISY_A: JSON.stringify(o) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  const failed = once(child, 'exit').then(([code]) => Promise.reject(new Error(`A's client exited with ${code}`)));
  failed.catch(() => undefined);
  return {
    async stop() {
      child.send('stop');
      const [sent] = (await Promise.race([once(child, 'message'), failed])) as [NoisyResult['a_sent']];
      child.disconnect();
      return sent;
    },
  };
}

/** In A's process: a closed loop of A_SENDERS, paced to aPostsPerSecond, wide events and many-metric batches in turn, until told to stop. */
async function sendA(o: ASender): Promise<void> {
  lowerOwnPriority({ nice: parseVar('LOW_PRIORITY_NICE', process.env), idleClass: parseVar('LOW_PRIORITY_IDLE_CLASS', process.env) });
  // Told to stop, it answers with what it sent; gone with the bench either way.
  process.once('disconnect', () => process.exit(0));
  const base = new URL(o.apiUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: A_SENDERS });
  const sent = { wide_events: 0, metric_batches: 0, readings: 0, distinct_metrics: 0, seconds: 0 };
  let running = true;
  process.once('message', () => (running = false));
  let seq = o.first;
  const started = performance.now();
  const interval = 1000 / o.aPostsPerSecond;
  let nextAt = started;
  const wideKeys = Array.from({ length: WIDE_KEYS }, (_, k) => `w${k}`);
  const senders = Array.from({ length: A_SENDERS }, async () => {
    while (running) {
      const wait = nextAt - performance.now();
      nextAt = Math.max(nextAt, performance.now()) + interval;
      if (wait > 0) await sleep(wait);
      if (!running) break;
      const n = seq++;
      let body: string;
      if (n % 2 === 0) {
        const data: Record<string, number> = {};
        for (let k = 0; k < WIDE_KEYS; k++) data[wideKeys[k]] = (k * 31 + n) % 1000;
        body = JSON.stringify({ device_external_id: o.devices[0].external_id, events: [{ ts: new Date().toISOString(), data, event_id: `wide-${n}` }] });
        sent.wide_events++;
        sent.readings++;
      } else {
        const now = Date.now();
        const device = o.devices[1 + (n % (o.devices.length - 1))];
        const events = Array.from({ length: METRICS_PER_BATCH }, (_, i) => ({ ts: new Date(now - i).toISOString(), data: { [`m${n}_${i}`]: i, shared: i }, event_id: `m${n}-${i}` }));
        body = JSON.stringify({ device_external_id: device.external_id, events });
        sent.metric_batches++;
        sent.readings += METRICS_PER_BATCH;
        sent.distinct_metrics += METRICS_PER_BATCH;
      }
      await postJson(agent, base, '/telemetry', o.auth, body);
    }
  });
  await Promise.all(senders);
  sent.seconds = Math.round((performance.now() - started) / 100) / 10;
  agent.destroy();
  process.send!(sent);
}

/**
 * `node dist/scripts/bench/noisy.js`: this phase alone, on a fresh api + worker (NOISY_SECONDS,
 * NOISY_A_POSTS_PER_SECOND, 0 for a control run without A; NOISY_SAMPLES=file for every sample; NOISY_WARMUP_SECONDS of B alone first, default 20, so that B's
 * figures alone are not the fresh processes' warm-up; KEEP_DB=1 keeps the database).
 */
async function main(): Promise<void> {
  const env = benchEnv();
  const procs: Proc[] = [];
  const cleanup = async () => {
    for (const p of procs.reverse()) await p.stop();
    if (process.env.KEEP_DB === '1') process.stdout.write(`kept ${env.databaseUrl}\n`);
    else await dropRunData(env);
  };
  // A failed POST of the load (alerts.ts) surfaces as an unhandled rejection: stop the platform too.
  process.once('unhandledRejection', (err) => {
    process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
    void cleanup().finally(() => process.exit(1));
  });
  try {
    const extra = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', DB_POOL_SIZE: process.env.DB_POOL_SIZE ?? '20' };
    const apiProc = await startProcess('api', 'api', env, extra);
    procs.push(apiProc);
    procs.push(await startProcess('worker', 'worker', env, extra));
    const r = await runNoisy({
      apiUrl: apiProc.url!,
      databaseUrl: env.databaseUrl,
      seconds: Number(process.env.NOISY_SECONDS ?? 120),
      rate: 1000,
      aPostsPerSecond: Number(process.env.NOISY_A_POSTS_PER_SECOND ?? 4),
      warmupSeconds: Number(process.env.NOISY_WARMUP_SECONDS ?? 20),
      samplesFile: process.env.NOISY_SAMPLES,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await cleanup();
  }
}

if (process.env.NOISY_A && process.send) {
  void sendA(JSON.parse(process.env.NOISY_A) as ASender);
} else if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
