import { Agent, request } from 'node:http';
import Redis from 'ioredis';
import { readSse } from '../local-http';
import { benchEnv, cpuOf, dropRunData, fmt, peakRssMb, percentile, pg, Proc, seedTenant, startProcess, api } from './platform';

/**
 * `npm run bench:alerts`: DEVICES devices and 20 rules (ALL, TAG and EXPLICIT) under a steady
 * RATE readings/s in small batches, with a breach every BREACH_MS on a random device. For each
 * breach it measures the time from the POST /telemetry answer to the alert.triggered event
 * arriving on the SSE stream (served by the api process; the alert is made by the worker),
 * and the worker's CPU per reading.
 *
 * The parts are exported for `npm run bench` (all.ts), which times the webhook instead:
 * `alertTags` (the devices' tags), `seedRules`, `Arrivals` and `runAlertLoad`.
 */
const TICK_MS = 100;

export interface AlertTenant {
  projectId: number;
  auth: Record<string, string>;
  devices: { id: number; external_id: string }[];
}

/** Tags the rules' TAG scopes select on: odd/even and one of ten zones. */
export const alertTags = (i: number): string[] => [i % 2 ? 'odd' : 'even', `zone-${i % 10}`];

/**
 * 20 rules: the breach rule 'overheat' (ALL, temperature > 90, 3 of 5, no cooldown) plus 19 of
 * every scope that evaluate but never fire at normal values. Returns the overheat rule's id.
 */
export async function seedRules(url: string, tenant: AlertTenant): Promise<number> {
  const rulesUrl = `/projects/${tenant.projectId}/rules`;
  const overheat = await api(url, 'POST', rulesUrl, { name: 'overheat', metric: 'temperature', operator: '>', threshold: 90, window_n: 5, required_k: 3, cooldown_seconds: 0, severity: 'critical' }, tenant.auth);
  for (let i = 0; i < 19; i++) {
    const scope = i % 3 === 0 ? { scope: 'ALL' } : i % 3 === 1 ? { scope: 'TAG', tag: `zone-${i % 10}` } : { scope: 'EXPLICIT' };
    const rule = await api(url, 'POST', rulesUrl, { name: `r${i}`, metric: i % 2 ? 'humidity' : 'temperature', operator: i % 2 ? '<' : '>', threshold: i % 2 ? 5 : 200 + i, window_n: 5 + i * 10, required_k: 3, cooldown_seconds: 60, ...scope }, tenant.auth);
    if (scope.scope === 'EXPLICIT') await api(url, 'POST', `/rules/${rule.id}/devices`, { device_ids: tenant.devices.filter((_, j) => j % 7 === i % 7).map((d) => d.id) }, tenant.auth);
  }
  return Number(overheat.id);
}

/** Breach POST answered at t0 → its alert.triggered seen (on whatever channel) at t1. */
export class Arrivals {
  readonly pending = new Map<number, number>();
  readonly latencies: number[] = [];
  /** When each breach of `latencies` was answered (its t0), in the same order. */
  readonly sentAt: number[] = [];
  /**
   * Alerts that came before their breach's answer was read, by device: when. The answer and the
   * webhook (or stream event) race to this process, and a stalled event loop may read the
   * webhook first; such an alert arrived, at latency 0.
   */
  private readonly early = new Map<number, number>();

  /** The breach POST for `deviceId`, sent at `sent`, was answered at `t0`. */
  expect(deviceId: number, t0: number, sent = t0): void {
    const t1 = this.early.get(deviceId);
    this.early.delete(deviceId);
    if (t1 !== undefined && t1 >= sent) {
      this.latencies.push(Math.max(0, t1 - t0));
      this.sentAt.push(t0);
    } else this.pending.set(deviceId, t0);
  }

  /** An alert.triggered of the breach rule for `deviceId`; false if no breach of it is pending. */
  arrived(deviceId: number, t1 = performance.now()): boolean {
    const t0 = this.pending.get(deviceId);
    if (t0 === undefined) {
      this.early.set(deviceId, t1);
      return false;
    }
    this.latencies.push(t1 - t0);
    this.sentAt.push(t0);
    this.pending.delete(deviceId);
    return true;
  }
}

export interface AlertLoadOptions {
  apiUrl: string;
  tenant: AlertTenant;
  arrivals: Arrivals;
  rate: number;
  batch: number;
  seconds: number;
  breachMs: number;
  /** How long to wait for the last breaches' alerts after the load ends. */
  drainMs?: number;
  /** Ends the load before `seconds` once aborted. */
  signal?: AbortSignal;
  /** Called every tick (about every 100 ms). */
  onTick?: (s: { elapsedMs: number; sent: number; breaches: number; seen: number }) => void;
}

export interface AlertLoadResult {
  /** Readings sent, and over how many seconds of sending. */
  sent: number;
  elapsed: number;
  breaches: number;
}

/**
 * Steady `rate` readings/s in batches of `batch` on random devices; every `breachMs` a random
 * device gets a full window of high readings (and 1.5 s later normal ones, which resolve the
 * alert so the device can breach again). Returns once the load is over and every breach's
 * alert arrived, or `drainMs` passed.
 */
/** The last event time a load in this process used (see runAlertLoad). */
let lastEventTime = 0;

export async function runAlertLoad(o: AlertLoadOptions): Promise<AlertLoadResult> {
  const { tenant, arrivals, rate: RATE, batch: BATCH, seconds: SECONDS, breachMs: BREACH_MS } = o;
  const DEVICES = tenant.devices.length;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(o.apiUrl);
  // Event times advance 1 ms a reading, faster than the wall clock: a second load in the same
  // process starts after the first one's, so its breaches are each device's newest readings.
  let clock = Math.max(Date.now() - SECONDS * 1000 - 60_000, lastEventTime);
  const post = (device: string, values: number[]) =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ device_external_id: device, events: values.map((v) => ({ ts: new Date((clock += 1)).toISOString(), data: { temperature: v, humidity: 50 } })) });
      const req = request(
        { agent, host: target.hostname, port: target.port, path: '/telemetry', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...tenant.auth } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 202 ? resolve(performance.now()) : reject(new Error(`POST ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const started = Date.now();
  let sent = 0;
  let breaches = 0;
  let nextBreach = started + BREACH_MS;
  const inflight = new Set<Promise<unknown>>();
  const breaching = new Set<string>();
  const tick = () => o.onTick?.({ elapsedMs: Date.now() - started, sent, breaches, seen: arrivals.latencies.length });
  try {
    while (Date.now() - started < SECONDS * 1000 && !o.signal?.aborted) {
      const tickAt = Date.now();
      // Catch up with the schedule (RATE readings/s since the start), so timer drift costs no load.
      const due = Math.floor(((tickAt - started) / 1000) * RATE) + (RATE * TICK_MS) / 1000;
      while (sent + BATCH <= due) {
        let d = tenant.devices[Math.floor(Math.random() * DEVICES)];
        // A breaching device keeps its window; its share of the load goes to another device.
        while (breaching.has(d.external_id)) d = tenant.devices[Math.floor(Math.random() * DEVICES)];
        const p = post(d.external_id, Array.from({ length: BATCH }, () => 20 + Math.random() * 40)).finally(() => inflight.delete(p));
        inflight.add(p);
        sent += BATCH;
      }
      if (tickAt >= nextBreach) {
        nextBreach += BREACH_MS;
        const d = tenant.devices[Math.floor(Math.random() * DEVICES)];
        if (!breaching.has(d.external_id) && !arrivals.pending.has(d.id)) {
          breaching.add(d.external_id);
          breaches++;
          const sentAt = performance.now();
          const p = post(d.external_id, [95, 96, 97, 98, 99])
            .then((t0) => arrivals.expect(d.id, t0, sentAt))
            .then(() => new Promise((r) => setTimeout(r, 1500)))
            // Normal readings clear the window so the device can breach again later.
            .then(() => post(d.external_id, [20, 20, 20, 20, 20]))
            .finally(() => {
              breaching.delete(d.external_id);
              inflight.delete(p);
            });
          inflight.add(p);
        }
      }
      const wait = TICK_MS - (Date.now() - tickAt);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      tick();
    }
    const elapsed = (Date.now() - started) / 1000;
    await Promise.all(inflight);
    const deadline = Date.now() + (o.drainMs ?? 10_000);
    while (arrivals.pending.size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      tick();
    }
    lastEventTime = clock;
    return { sent, elapsed, breaches };
  } finally {
    // A failed POST must not leave the others' rejections unhandled.
    await Promise.allSettled(inflight);
    agent.destroy();
  }
}

async function main(): Promise<void> {
  const DEVICES = Number(process.env.DEVICES ?? 1000);
  const RATE = Number(process.env.RATE ?? 2000);
  const BATCH = Number(process.env.BATCH ?? 100);
  const SECONDS = Number(process.env.SECONDS ?? 30);
  const BREACH_MS = Number(process.env.BREACH_MS ?? 250);
  const env = benchEnv();
  const procs: Proc[] = [];
  try {
    const apiProc = await startProcess('api', 'api', env);
    const worker = await startProcess('worker', 'worker', env);
    procs.push(apiProc, worker);
    const url = apiProc.url!;
    const tenant = await seedTenant(url, DEVICES, alertTags);
    await seedRules(url, tenant);

    // The SSE stream: breach POST answered at t0 → alert.triggered for that device at t1.
    const arrivals = new Arrivals();
    const streaming = new AbortController();
    const stream = await fetch(`${url}/alerts/stream`, { headers: tenant.auth, signal: streaming.signal });
    readSse(stream.body!, ({ type, data }) => {
      if (type !== 'alert.triggered' || data === null) return;
      const alert = JSON.parse(data);
      if (alert.details.rule.name === 'overheat') arrivals.arrived(alert.device_id);
    }).catch(() => {
      /* closed at the end */
    });

    const cpu0 = cpuOf(worker.child.pid);
    let shown = 0;
    const { sent, elapsed, breaches } = await runAlertLoad({
      apiUrl: url,
      tenant,
      arrivals,
      rate: RATE,
      batch: BATCH,
      seconds: SECONDS,
      breachMs: BREACH_MS,
      onTick: (s) => {
        const second = Math.floor(s.elapsedMs / 1000);
        if (second !== shown && s.elapsedMs < SECONDS * 1000 + 1000) {
          shown = second;
          process.stdout.write(`  ${second} s, ${fmt(s.sent)} readings, ${s.seen}/${s.breaches} alerts\r`);
        }
      },
    });
    const cpu = cpuOf(worker.child.pid) - cpu0;
    const redis = new Redis(env.redisUrl);
    const gens = await redis.keys(`${env.redisPrefix}:eval-gen:*`);
    const evaluations = gens.length ? (await redis.mget(...gens)).reduce((a, v) => a + Number(v ?? 0), 0) : 0;
    redis.disconnect();
    const db = await pg(env.databaseUrl);
    const stored = Number((await db.query('SELECT count(*)::int AS n FROM readings')).rows[0].n);
    await db.end();
    streaming.abort();

    const latencies = [...arrivals.latencies].sort((a, b) => a - b);
    const pending = arrivals.pending;
    process.stdout.write(
      [
        '',
        `load                   ${fmt(sent / elapsed)} readings/s for ${fmt(elapsed, 0)} s (${DEVICES} devices, 20 rules, batches of ${BATCH}), ${fmt(stored)} stored`,
        `breaches → alerts      ${latencies.length} of ${breaches} seen on the stream${pending.size ? ` (${pending.size} missing)` : ''}`,
        `POST answer → alert    p50 ${fmt(percentile(latencies, 0.5))} ms   p99 ${fmt(percentile(latencies, 0.99))} ms   max ${fmt(latencies[latencies.length - 1] ?? NaN)} ms`,
        `evaluations            ${fmt(evaluations)} (${fmt(evaluations / elapsed)}/s; ${fmt(sent / Math.max(1, evaluations), 1)} readings per evaluation)`,
        `worker CPU             ${fmt((cpu * 1e6) / sent, 1)} µs per reading (ingest + evaluation), ${fmt((cpu / elapsed) * 100)}% of a core`,
        `peak RSS               ${procs.map((p) => `${p.name} ${peakRssMb(p.child.pid)} MB`).join(', ')}`,
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
