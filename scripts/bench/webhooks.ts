import { createServer, Server } from 'node:http';
import Queue from 'bull';
import { listenLocal } from '../local-http';
import { api, benchEnv, cpuShare, cpuSnapshot, dropRunData, fmt, peakRssMb, pg, Proc, seedTenant, startProcess } from './platform';

/**
 * `npm run bench:webhooks`: delivery throughput to a healthy local sink, alone and next to a
 * dead endpoint (accepts connections, never answers: every send runs into the timeout).
 * WORKERS worker processes (default 2) and one api. Each phase builds a backlog of
 * DEVICES × RULES alert events while the delivery queue is paused (first attempts queued too:
 * WEBHOOK_INLINE_FIRST_ATTEMPTS=0), then resumes it and times the drain at the sink, so the
 * figure is delivery alone, not rule evaluation.
 *
 * After a warm-up (one open and one resolve phase), ROUNDS rounds each time the healthy
 * endpoint alone, then next to a newly created dead endpoint (deleted after its round), so
 * every round starts with a closed circuit that must open during the drain: the default
 * backlog (30,000) drains for longer than the 5 s send timeout; then next to a newly created
 * endpoint paced at PACED_RATE/s (default 10), which gets the same 30,000 deliveries as a
 * backlog to pace (deleted after its round). Medians are compared, since single runs on a
 * small VM vary by ±10 % (far more when the machine is shared).
 */
const DEVICES = Number(process.env.DEVICES ?? 600);
const RULES = Number(process.env.RULES ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** Worker processes; deliveries are CPU-bound in the worker, so a second one uses the other core. */
const WORKERS = Number(process.env.WORKERS ?? 2);
const PACED_RATE = Number(process.env.PACED_RATE ?? 10);

class Sink {
  count = 0;
  first = 0;
  last = 0;
  /** Arrival times (performance.now()), for TIMELINE=1. */
  arrivals: number[] = [];
  private server: Server;
  url = '';
  async start(answer: boolean): Promise<this> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.count++;
        this.last = performance.now();
        if (process.env.TIMELINE) this.arrivals.push(this.last);
        if (!this.first) this.first = this.last;
        if (answer) res.writeHead(200).end();
        // A dead endpoint: the request hangs until the platform's timeout.
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.url = `${await listenLocal(this.server)}/hook`;
    return this;
  }
  reset(): void {
    this.count = this.first = this.last = 0;
    this.arrivals = [];
  }
  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

async function main(): Promise<void> {
  const env = benchEnv();
  const procs: Proc[] = [];
  const healthy = await new Sink().start(true);
  const dead = await new Sink().start(false);
  const paced = await new Sink().start(true);
  // The backlog waits in the paused queue: the workers make no first attempt themselves
  // (docs/webhooks.md, "The first attempt"), so the drain times delivery jobs alone.
  const extra = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_INLINE_FIRST_ATTEMPTS: '0' };
  try {
    const apiProc = await startProcess('api', 'api', env, extra);
    procs.push(apiProc);
    for (let i = 0; i < WORKERS; i++) procs.push(await startProcess(`worker${i + 1}`, 'worker', env, extra));
    const url = apiProc.url!;
    const tenant = await seedTenant(url, DEVICES);
    for (let i = 0; i < RULES; i++) {
      await api(url, 'POST', `/projects/${tenant.projectId}/rules`, { name: `hot-${i}`, metric: 'temperature', operator: '>', threshold: 80 - i * 0.1, window_n: 1, required_k: 1, cooldown_seconds: 0 }, tenant.auth);
    }
    await api(url, 'POST', `/projects/${tenant.projectId}/webhooks`, { url: healthy.url }, tenant.auth);
    const queue = new Queue('webhook-delivery', env.redisUrl, { prefix: env.redisPrefix });
    const db = await pg(env.databaseUrl);
    let clock = Date.now() - 3_600_000;

    /** One phase: every device crosses the threshold once (RULES events each), drained at once. */
    const healthyCount = async () =>
      Number((await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE w.url = $1`, [healthy.url])).rows[0].n);
    const phase = async (name: string, temperature: number) => {
      const before = Number((await db.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n);
      const healthyBefore = await healthyCount();
      await queue.pause(false);
      for (let i = 0; i < DEVICES; i += 20) {
        await Promise.all(
          tenant.devices.slice(i, i + 20).map((d) =>
            api(url, 'POST', '/telemetry', { device_external_id: d.external_id, events: [{ ts: new Date((clock += 1000)).toISOString(), data: { temperature } }] }, tenant.auth),
          ),
        );
      }
      const expected = DEVICES * RULES;
      while ((await healthyCount()) - healthyBefore < expected) await new Promise((r) => setTimeout(r, 200));
      const total = Number((await db.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n) - before;
      healthy.reset();
      dead.reset();
      paced.reset();
      const cpu0 = cpuSnapshot(procs);
      const t0 = performance.now();
      await queue.resume(false);
      while (healthy.count < expected) {
        await new Promise((r) => setTimeout(r, 20));
        if (performance.now() - t0 > 300_000) throw new Error(`${name}: only ${healthy.count}/${expected} arrived`);
      }
      const seconds = (healthy.last - t0) / 1000;
      const rate = expected / seconds;
      const cpu = Object.entries(cpuShare(cpu0, cpuSnapshot(procs), seconds)).map(([k, v]) => `${k} ${fmt(v)}%`).join(', ');
      process.stdout.write(`${name.padEnd(32)} ${fmt(expected)} healthy deliveries (${fmt(total)} in all) in ${fmt(seconds, 2)} s → ${fmt(rate)} deliveries/s\n`);
      process.stdout.write(`${''.padEnd(32)} CPU (of one core): ${cpu}\n`);
      if (process.env.TIMELINE) {
        const per = new Map<number, number>();
        for (const at of healthy.arrivals) per.set(Math.floor((at - t0) / 500), (per.get(Math.floor((at - t0) / 500)) ?? 0) + 1);
        const dead0 = dead.arrivals.map((at) => fmt((at - t0) / 1000, 1));
        process.stdout.write(`${''.padEnd(32)} healthy per 0.5 s: ${[...per.keys()].sort((a, b) => a - b).map((k) => per.get(k)).join(' ')}${dead0.length ? `; dead at ${dead0.join(' ')} s` : ''}\n`);
      }
      return rate;
    };
    // Warm-up (compiled code, connections, per-webhook concurrency), reported but not compared.
    // Phases alternate between opening (95) and resolving (20) every rule's alert of every device.
    let hot = false;
    const next = () => ((hot = !hot) ? 95 : 20);
    await phase('warm-up', next());
    await phase('warm-up', next());
    const alone: number[] = [];
    const withDead: number[] = [];
    const withPaced: number[] = [];
    const deadLines: string[] = [];
    const pacedLines: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      alone.push(await phase(`round ${round}: healthy alone`, next()));
      const deadHook = await api(url, 'POST', `/projects/${tenant.projectId}/webhooks`, { url: dead.url }, tenant.auth);
      withDead.push(await phase(`round ${round}: next to a dead one`, next()));
      const circuit = await api(url, 'GET', `/webhooks/${deadHook.id}/circuit-status`, undefined, tenant.auth);
      const opened = circuit.circuit_breaker.state === 'open';
      deadLines.push(
        `round ${round}: ${fmt(dead.count)} requests reached the dead endpoint; its circuit ${circuit.circuit_breaker.state} after ${circuit.circuit_breaker.failures} failures` +
          (opened ? '' : ' (it did not open during the drain: raise DEVICES so the drain outlasts the send timeout)'),
      );
      await api(url, 'DELETE', `/webhooks/${deadHook.id}`, undefined, tenant.auth);
      const pacedHook = await api(url, 'POST', `/projects/${tenant.projectId}/webhooks`, { url: paced.url, rate_limit_per_second: PACED_RATE }, tenant.auth);
      withPaced.push(await phase(`round ${round}: next to a paced one`, next()));
      const [{ n: waiting }] = (
        await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1 AND status IN ('pending', 'retrying', 'sending')`, [pacedHook.id])
      ).rows;
      pacedLines.push(
        `round ${round}: the endpoint paced at ${PACED_RATE}/s got ${fmt(paced.count)} deliveries while the healthy one drained` +
          `${paced.first && paced.last > paced.first ? ` (${fmt((paced.count - 1) / ((paced.last - paced.first) / 1000), 1)}/s between its first and last)` : ''}; ${fmt(waiting)} still waiting for their turns`,
      );
      await api(url, 'DELETE', `/webhooks/${pacedHook.id}`, undefined, tenant.auth);
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
    process.stdout.write(
      [
        ...deadLines,
        ...pacedLines,
        `healthy alone                    median ${fmt(median(alone))} deliveries/s (${range(alone)})`,
        `healthy next to a dead endpoint  median ${fmt(median(withDead))} deliveries/s (${range(withDead)})`,
        `healthy next to a paced one      median ${fmt(median(withPaced))} deliveries/s (${range(withPaced)}; ${PACED_RATE}/s with a ${fmt(DEVICES * RULES)}-delivery backlog)`,
        `healthy rate with the dead one   ${fmt((median(withDead) / median(alone)) * 100)} % of its rate alone (medians; per round ${alone.map((a, i) => `${fmt((withDead[i] / a) * 100)} %`).join(', ')})`,
        `healthy rate with the paced one  ${fmt((median(withPaced) / median(alone)) * 100)} % of its rate alone (medians; per round ${alone.map((a, i) => `${fmt((withPaced[i] / a) * 100)} %`).join(', ')})`,
        `peak RSS                         ${procs.map((p) => `${p.name} ${peakRssMb(p.child.pid)} MB`).join(', ')}`,
        '',
      ].join('\n'),
    );
    await queue.close();
    await db.end();
  } finally {
    for (const p of procs.reverse()) await p.stop();
    healthy.stop();
    dead.stop();
    paced.stop();
    await dropRunData(env);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
