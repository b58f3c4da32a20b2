import { Agent, request } from 'node:http';
import { api, cpuShare, cpuSnapshot, drainQueues, fmt, onPlatform, percentile, pg, Proc, seedTenant } from './platform';
import { Progress } from './progress';

/**
 * The no-data phase of `npm run bench` (all.ts): NO_DATA_DEVICES devices (100,000) in a
 * project of their own under one ALL no-data rule. STOPPING (1,000) of them report once and
 * stop; the others keep reporting round-robin at NO_DATA_RATE readings/s (2,000, one reading
 * per POST, as devices do) while the stopped ones' deadlines come due. Measured:
 *
 *  - firing lag: each stopped device's due time (its last arrival + no_data_seconds, read from
 *    rule_deadlines) → its alert first seen in GET /projects/{id}/alerts (polled every 100 ms),
 *    and → the alert's triggered_at (the lag without the list request's own time);
 *  - POST → stored latency of the reporting devices, by a probe POST ?wait=true (which answers
 *    once the reading is durable, arrival recorded) every 100 ms, with the same load running,
 *    without the rule (baseline), then with it, then without it again: the rule's minutes of
 *    load grow the database, which slows the platform by itself, so the rule is compared with
 *    the two baselines pooled (docs/rules.md, "Which readings are evaluated", has the control);
 *  - CPU of every process under that load, without and with the rule: the difference is what
 *    the deadline tracking costs.
 *
 * A reporting device must report more often than no_data_seconds or it alerts too: at 2,000
 * readings/s, 99,000 devices report every 49.5 s each, so the rule's no_data_seconds is raised
 * to twice that period (at the rate the baseline achieved in its second half; at least 1.25 × it where twice
 * would pass MAX_NO_DATA_SECONDS) when NO_DATA_SECONDS (30) is
 * shorter, and the run says so.
 * Devices are created with one INSERT (100,000 POSTs would take minutes and measure nothing here).
 */

export interface NoDataOptions {
  apiUrl: string;
  databaseUrl: string;
  procs: Proc[];
  devices: number;
  stopping: number;
  rate: number;
  noDataSeconds: number;
  /** Seconds of load without the rule, for the baseline. */
  baselineSeconds: number;
  log: (s: string) => void;
}

export interface NoDataResult {
  /** Why the firing was not measured, when it was not. */
  skipped: string | null;
  devices: number;
  stopping: number;
  no_data_seconds: number;
  no_data_seconds_requested: number;
  rule_create_ms: number;
  alerts_fired: number;
  alerts_missing: number;
  unexpected_alerts: number;
  failed_posts: number;
  firing_lag_ms: { p50: number; p99: number; max: number };
  due_to_triggered_at_ms: { p50: number; p99: number; max: number };
  /** baseline: the one before the rule (it sets no_data_seconds); baseline_after: after the rule went. */
  load_readings_per_second: { baseline: number; with_rule: number; baseline_after?: number };
  /** baseline: before and after the rule, pooled (what the rule is compared with). */
  probe_post_to_stored_ms: { baseline: Summary; with_rule: Summary; baseline_before?: Summary; baseline_after?: Summary };
  cpu_percent_of_a_core: { baseline: Record<string, number>; with_rule: Record<string, number>; baseline_after?: Record<string, number> };
}

const TICK_MS = 20;
const PROBE_MS = 100;
const POLL_MS = 100;
const MAX_IN_FLIGHT = 256;
/** Longer silences would make the phase take too long. */
const MAX_NO_DATA_SECONDS = 300;

interface Summary {
  p50: number;
  p99: number;
  n: number;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { p50: r(percentile(s, 0.5)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1] ?? NaN), n: s.length };
};

/** Sends one-reading POSTs round-robin over `devices` at `rate`/s, plus a timed ?wait=true probe, until stopped. */
class ReportingLoad {
  sent = 0;
  failed = 0;
  readonly probes: number[] = [];
  private running = true;
  private readonly done: Promise<void>;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 128 });
  private readonly startedAt = performance.now();

  constructor(
    private readonly url: URL,
    private readonly auth: Record<string, string>,
    private readonly devices: string[],
    private readonly probeDevice: string,
    private readonly rate: number,
    private next = 0,
  ) {
    this.done = Promise.all([this.drive(), this.probe()]).then(() => undefined);
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** Where the round-robin stands, to continue from there. */
  get position(): number {
    return this.next;
  }

  private post(device: string, wait: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({ device_external_id: device, events: [{ ts: new Date().toISOString(), data: { temperature: 20 + Math.random() * 5 } }] });
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          path: wait ? '/telemetry?wait=true' : '/telemetry',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...this.auth },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 202 || res.statusCode === 201 ? resolve() : reject(new Error(`POST ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private async drive(): Promise<void> {
    const started = performance.now();
    const inflight = new Set<Promise<void>>();
    let scheduled = 0;
    while (this.running) {
      const due = Math.floor(((performance.now() - started) / 1000) * this.rate);
      while (scheduled < due && inflight.size < MAX_IN_FLIGHT) {
        const device = this.devices[this.next++ % this.devices.length];
        const p = this.post(device, false)
          .then(() => void this.sent++, () => void this.failed++)
          .finally(() => inflight.delete(p));
        inflight.add(p);
        scheduled++;
      }
      // Behind schedule with everything in flight: the platform sets the pace (the sent rate shows it).
      if (scheduled < due && inflight.size >= MAX_IN_FLIGHT) scheduled = due;
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    await Promise.all(inflight);
  }

  private async probe(): Promise<void> {
    while (this.running) {
      const t0 = performance.now();
      await this.post(this.probeDevice, true).then(() => this.probes.push(performance.now() - t0), () => void this.failed++);
      await new Promise((r) => setTimeout(r, Math.max(0, PROBE_MS - (performance.now() - t0))));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }
}

const skipped = (o: NoDataOptions, why: string): Omit<NoDataResult, 'load_readings_per_second' | 'probe_post_to_stored_ms' | 'cpu_percent_of_a_core'> => ({
  skipped: why,
  devices: o.devices,
  stopping: o.stopping,
  no_data_seconds: o.noDataSeconds,
  no_data_seconds_requested: o.noDataSeconds,
  rule_create_ms: 0,
  alerts_fired: 0,
  alerts_missing: o.stopping,
  unexpected_alerts: 0,
  failed_posts: 0,
  firing_lag_ms: { p50: NaN, p99: NaN, max: NaN },
  due_to_triggered_at_ms: { p50: NaN, p99: NaN, max: NaN },
});

export async function runNoDataPhase(o: NoDataOptions): Promise<NoDataResult> {
  const base = new URL(o.apiUrl);
  const tenant = await seedTenant(o.apiUrl, 0);
  const db = await pg(o.databaseUrl);
  try {
    await db.query(
      `INSERT INTO devices (project_id, external_id, name) SELECT $1, 'nd-' || g, 'Device ' || g FROM generate_series(0, $2::int - 1) g`,
      [tenant.projectId, o.devices],
    );
    const names = Array.from({ length: o.devices }, (_, i) => `nd-${i}`);
    const stopping = names.slice(0, o.stopping);
    const probeDevice = names[o.devices - 1];
    const reporting = names.slice(o.stopping, o.devices - 1);
    o.log(`no-data: ${fmt(o.devices)} devices; ${fmt(o.stopping)} report once and stop, ${fmt(reporting.length)} report round-robin at ${fmt(o.rate)} readings/s`);

    // Baseline: the same load, no rule, before the rule and again after it (see the file's comment).
    const runBaseline = async (from: number, label: string) => {
      const c = cpuSnapshot(o.procs);
      const l = new ReportingLoad(base, tenant.auth, reporting, probeDevice, o.rate, from);
      const bar = new Progress(`no-data ${label}`, 0, 'readings');
      let half: { seconds: number; sent: number } | null = null;
      while (l.elapsedSeconds < o.baselineSeconds) {
        await new Promise((r) => setTimeout(r, 500));
        bar.update(l.sent, { fraction: l.elapsedSeconds / o.baselineSeconds });
        if (!half && l.elapsedSeconds >= o.baselineSeconds / 2) half = { seconds: l.elapsedSeconds, sent: l.sent };
      }
      await l.stop();
      bar.finish();
      const seconds = l.elapsedSeconds;
      // The rate once warm: the second half. The first seconds (connections opening, code not
      // yet optimised) run at half the rate or less, and would set no_data_seconds for a load
      // slower than the one that then runs.
      const rate = half && seconds > half.seconds ? (l.sent - half.sent) / (seconds - half.seconds) : l.sent / seconds;
      return { probes: l.probes, rate, cpu: cpuShare(c, cpuSnapshot(o.procs), seconds), position: l.position, failed: l.failed };
    };
    const before = await runBaseline(0, 'baseline');
    const baselineRate = before.rate;
    // A reporting device must report within no_data_seconds: at the rate the platform took.
    const period = reporting.length / Math.min(o.rate, baselineRate);
    // Twice the period where that fits under MAX_NO_DATA_SECONDS (with the rule the load may run
    // slower than the baseline; at 1.25 × a load 25 % slower made thousands of reporting
    // devices fall silent by the rule's own measure), at least 1.25 × it, else not measured.
    const margin = Math.ceil(period * 2) <= MAX_NO_DATA_SECONDS ? Math.ceil(period * 2) : Math.max(MAX_NO_DATA_SECONDS, Math.ceil(period * 1.25));
    const noDataSeconds = Math.max(o.noDataSeconds, margin);
    if (noDataSeconds > o.noDataSeconds) {
      o.log(`no-data: no_data_seconds ${noDataSeconds} instead of ${o.noDataSeconds}: at ${fmt(Math.min(o.rate, baselineRate))} readings/s each reporting device reports only every ${fmt(period, 1)} s`);
    }
    if (noDataSeconds > MAX_NO_DATA_SECONDS) {
      const why = `the platform took ${fmt(baselineRate)} readings/s: too few to keep ${fmt(reporting.length)} devices reporting within ${MAX_NO_DATA_SECONDS} s (lower NO_DATA_DEVICES)`;
      o.log(`no-data: firing not measured: ${why}`);
      // The load's backlog is not the next phase's to measure.
      const drain = await drainQueues(o.apiUrl);
      o.log(`no-data: left ${JSON.stringify(drain.queued)} jobs queued; ${drain.drained ? 'drained' : 'NOT drained'} in ${drain.seconds} s`);
      return { ...skipped(o, why), load_readings_per_second: { baseline: Math.round(baselineRate), with_rule: 0 }, probe_post_to_stored_ms: { baseline: summary(before.probes), with_rule: summary([]) }, cpu_percent_of_a_core: { baseline: before.cpu, with_rule: {} } };
    }

    // The rule: every device's clock starts now.
    const t0 = performance.now();
    const rule = await api(o.apiUrl, 'POST', `/projects/${tenant.projectId}/rules`, { name: 'silent', type: 'no_data', metric: null, no_data_seconds: noDataSeconds, cooldown_seconds: 0 }, tenant.auth);
    const ruleCreateMs = performance.now() - t0;
    o.log(`no-data: rule created with ${fmt(o.devices)} deadlines in ${fmt(ruleCreateMs)} ms`);

    // The stopping devices report once, then the load runs until their deadlines have fired.
    const c0 = cpuSnapshot(o.procs);
    const load = new ReportingLoad(base, tenant.auth, reporting, probeDevice, o.rate, before.position);
    await Promise.all(
      stopping.map((d) => api(o.apiUrl, 'POST', '/telemetry', { device_external_id: d, events: [{ ts: new Date().toISOString(), data: { temperature: 20 } }] }, tenant.auth)),
    );
    // Their arrival is recorded once the queue has stored the readings; then their due times are fixed.
    const stoppingIds: number[] = (await db.query(`SELECT id FROM devices WHERE project_id = $1 AND external_id = ANY($2::text[])`, [tenant.projectId, stopping])).rows.map((r) => Number(r.id));
    const dueOf = new Map<number, number>();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const { rows } = await db.query(
        `SELECT device_id, extract(epoch FROM due_at) * 1000 AS due FROM rule_deadlines WHERE rule_id = $1 AND device_id = ANY($2::bigint[]) AND last_reading_at IS NOT NULL`,
        [rule.id, stoppingIds],
      );
      if (rows.length === stoppingIds.length) {
        for (const r of rows) dueOf.set(Number(r.device_id), Number(r.due));
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (dueOf.size !== stoppingIds.length) throw new Error(`only ${dueOf.size} of ${stoppingIds.length} stopping devices' arrivals were recorded`);
    const lastDue = Math.max(...dueOf.values());
    // performance.now() and the database's clock: compare through Date.now() (same machine).
    const seen = new Map<number, number>();
    const others = new Set<number>();
    /** due → triggered_at: when the alert opened, without the time the list request itself took. */
    const opened: number[] = [];
    const fireBar = new Progress('no-data firing', stoppingIds.length, 'alerts');
    const stopAt = lastDue + 15_000;
    while (Date.now() < stopAt && seen.size < stoppingIds.length) {
      const pollAt = Date.now();
      const alerts: { id: number; device_id: number; triggered_at: string }[] = await api(o.apiUrl, 'GET', `/projects/${tenant.projectId}/alerts?rule_id=${rule.id}&limit=1000`, undefined, tenant.auth);
      for (const a of alerts) {
        if (dueOf.has(a.device_id)) {
          if (!seen.has(a.device_id)) {
            seen.set(a.device_id, pollAt);
            opened.push(Math.max(0, new Date(a.triggered_at).getTime() - dueOf.get(a.device_id)!));
          }
        } else others.add(a.device_id);
      }
      fireBar.update(seen.size, { note: `load ${fmt(load.sent / load.elapsedSeconds)}/s` });
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - pollAt))));
    }
    fireBar.finish();
    await load.stop();
    const withRuleSeconds = load.elapsedSeconds;
    const withRuleCpu = cpuShare(c0, cpuSnapshot(o.procs), withRuleSeconds);
    // The reporting devices' deadlines would all come due a few minutes later and fire into
    // the phases after this one: the rule goes with the phase.
    await api(o.apiUrl, 'DELETE', `/rules/${rule.id}`, undefined, tenant.auth);
    // The baseline again, now that the database has grown by the rule's minutes of load: the
    // rule is compared with both baselines pooled, whose middle is the middle of its window.
    // (Measured against the first baseline alone, a rule that watches no device looked 25 %
    // slower: the database's growth, not the rule.)
    const after = await runBaseline(load.position, 'baseline after');
    // A saturated worker may still hold a backlog of the load's evaluations: the next phase
    // would measure that backlog (its alerts queued behind it), not its own load.
    const drain = await drainQueues(o.apiUrl);
    o.log(`no-data: left ${JSON.stringify(drain.queued)} jobs queued; ${drain.drained ? 'drained' : 'NOT drained'} in ${drain.seconds} s`);
    const [beforeProbes, afterProbes] = [summary(before.probes), summary(after.probes)];
    const lags = [...seen].map(([device, at]) => Math.max(0, at - dueOf.get(device)!));
    const lag = summary(lags);
    const openLag = summary(opened);
    const result: NoDataResult = {
      skipped: null,
      devices: o.devices,
      stopping: o.stopping,
      no_data_seconds: noDataSeconds,
      no_data_seconds_requested: o.noDataSeconds,
      rule_create_ms: Math.round(ruleCreateMs),
      alerts_fired: seen.size,
      alerts_missing: stoppingIds.length - seen.size,
      unexpected_alerts: others.size,
      failed_posts: before.failed + load.failed + after.failed,
      firing_lag_ms: { p50: lag.p50, p99: lag.p99, max: lag.max },
      due_to_triggered_at_ms: { p50: openLag.p50, p99: openLag.p99, max: openLag.max },
      load_readings_per_second: { baseline: Math.round(baselineRate), with_rule: Math.round(load.sent / withRuleSeconds), baseline_after: Math.round(after.rate) },
      probe_post_to_stored_ms: { baseline: summary([...before.probes, ...after.probes]), with_rule: summary(load.probes), baseline_before: beforeProbes, baseline_after: afterProbes },
      cpu_percent_of_a_core: { baseline: before.cpu, with_rule: withRuleCpu, baseline_after: after.cpu },
    };
    const probes = result.probe_post_to_stored_ms;
    o.log(
      `no-data: ${seen.size} of ${stoppingIds.length} fired (${others.size} unexpected); due → seen p50 ${fmt(lag.p50)} ms, p99 ${fmt(lag.p99)} ms (due → triggered_at p50 ${fmt(openLag.p50)}, p99 ${fmt(openLag.p99)} ms); ` +
        `probe POST → stored p50/p99 ${fmt(probes.baseline.p50, 1)}/${fmt(probes.baseline.p99, 1)} ms without the rule ` +
        `(before ${fmt(beforeProbes.p50, 1)}/${fmt(beforeProbes.p99, 1)}, after ${fmt(afterProbes.p50, 1)}/${fmt(afterProbes.p99, 1)}), ` +
        `${fmt(probes.with_rule.p50, 1)}/${fmt(probes.with_rule.p99, 1)} ms with it; ` +
        `load ${fmt(baselineRate)}/s, ${fmt(result.load_readings_per_second.with_rule)}/s with the rule, ${fmt(after.rate)}/s after`,
    );
    return result;
  } finally {
    await db.end();
  }
}

/**
 * `node dist/scripts/bench/no-data.js`: this phase alone, on a fresh api + worker (after
 * `npm run build`), with the same settings as `npm run bench` (NO_DATA_DEVICES, NO_DATA_STOPPING,
 * NO_DATA_RATE, NO_DATA_SECONDS).
 */
async function main(): Promise<void> {
  const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const r = await onPlatform({}, 1, (apiUrl, env, procs) =>
    runNoDataPhase({
      apiUrl,
      databaseUrl: env.databaseUrl,
      procs,
      devices: num('NO_DATA_DEVICES', 100_000),
      stopping: num('NO_DATA_STOPPING', 1_000),
      rate: num('NO_DATA_RATE', 2_000),
      noDataSeconds: num('NO_DATA_SECONDS', 30),
      baselineSeconds: num('NO_DATA_BASELINE_SECONDS', 20),
      log: (line) => process.stdout.write(`${line}\n`),
    }),
  );
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
