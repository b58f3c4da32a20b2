import { createServer, Server } from 'node:http';
import { once } from 'node:events';
import Queue from 'bull';
import { api, benchEnv, cpuShare, cpuSnapshot, dropDatabase, fmt, peakRssMb, pg, Proc, seedTenant, startProcess } from './platform';

/**
 * `npm run bench:webhooks`: delivery throughput to a healthy local sink, alone and then next
 * to a dead endpoint (accepts connections, never answers: every send runs into the timeout).
 * WORKERS worker processes (default 2) and one api. Each phase builds a backlog of DEVICES × RULES alert events while the delivery queue is
 * paused, then resumes it and times the drain at the sink, so the figure is delivery alone,
 * not rule evaluation.
 */
const DEVICES = Number(process.env.DEVICES ?? 200);
const RULES = Number(process.env.RULES ?? 50);
/** Worker processes; deliveries are CPU-bound in the worker, so a second one uses the other core. */
const WORKERS = Number(process.env.WORKERS ?? 2);

class Sink {
  count = 0;
  first = 0;
  last = 0;
  private server: Server;
  url = '';
  async start(answer: boolean): Promise<this> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.count++;
        this.last = performance.now();
        if (!this.first) this.first = this.last;
        if (answer) res.writeHead(200).end();
        // A dead endpoint: the request hangs until the platform's timeout.
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
    return this;
  }
  reset(): void {
    this.count = this.first = this.last = 0;
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
  const extra = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' };
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
      return rate;
    };
    // Warm-up (compiled code, connections, per-webhook concurrency), reported but not compared.
    await phase('warm-up: alerts open', 95);
    await phase('warm-up: alerts resolve', 20);
    const alone = await phase('healthy endpoint alone', 95);
    const deadHook = await api(url, 'POST', `/projects/${tenant.projectId}/webhooks`, { url: dead.url }, tenant.auth);
    const withDead = await phase('healthy next to a dead endpoint', 20);
    const circuit = await api(url, 'GET', `/webhooks/${deadHook.id}/circuit-status`, undefined, tenant.auth);
    process.stdout.write(
      [
        `dead endpoint                    ${fmt(dead.count)} requests reached it; circuit ${circuit.circuit_breaker.state} after ${circuit.circuit_breaker.failures} failures`,
        `healthy rate with the dead one   ${fmt((withDead / alone) * 100)} % of its rate alone`,
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
    await dropDatabase(env);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
