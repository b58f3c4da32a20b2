import { createServer } from 'node:http';
import { listenLocal, readBody } from '../local-http';
import { AlertLoadOptions, AlertLoadResult, AlertTenant, Arrivals, alertTags, runAlertLoad, seedRules } from './alerts';
import { api, benchEnv, dropRunData, fmt, percentile, Proc, seedTenant, startProcess } from './platform';

/**
 * The alert → webhook latency with silences in the project: every alert change asks whether
 * its pair is silenced (docs/silences.md), so the figure must hold with many of them.
 *
 * `seedSilences` makes SILENCES active silences, half of them recurring (all week, in three
 * zones), that match other rules' pairs by rule, device, tag and severity but never the breach
 * rule (critical), so every breach still notifies. `runWithSilences` seeds them and runs the
 * alert load again; `npm run bench` (all.ts) reports it beside the figure without silences.
 *
 * Alone (`node dist/scripts/bench/silences.js`, after `npm run build`): one api and WORKERS
 * workers, DEVICES devices, RATE readings/s for SECONDS, first without silences, then with.
 */
export const SILENCES = 100;
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export async function seedSilences(url: string, tenant: AlertTenant, breachRuleId: number, n = SILENCES): Promise<{ silences: number; recurring: number }> {
  const rules = (await api(url, 'GET', `/projects/${tenant.projectId}/rules?limit=100`, undefined, tenant.auth)) as { id: number }[];
  const others = rules.map((r) => Number(r.id)).filter((id) => id !== breachRuleId);
  const devices = (i: number) => tenant.devices.filter((_, j) => j % 97 === i % 97).map((d) => d.id);
  const inADay = new Date(Date.now() + 86_400_000).toISOString();
  let recurring = 0;
  for (let i = 0; i < n; i++) {
    // Never `critical`, never the breach rule: these mute only pairs that do not breach.
    const matchers = [
      { rule_ids: [others[i % others.length]] },
      { tags: [`zone-${i % 10}`], severities: ['warning'] },
      { device_ids: devices(i), severities: ['info', 'warning'] },
      { rule_ids: [others[(i * 7) % others.length]], device_ids: devices(i + 1), tags: ['odd'] },
    ][i % 4];
    const when =
      i % 2
        ? { recurrence: { days: WEEK, start: '00:00', duration_minutes: 1440, timezone: ZONES[i % ZONES.length] } }
        : { ends_at: inADay };
    if (i % 2) recurring++;
    await api(url, 'POST', `/projects/${tenant.projectId}/silences`, { matchers, ...when, comment: `bench ${i}` }, tenant.auth);
  }
  const active = (await api(url, 'GET', `/projects/${tenant.projectId}/silences?state=active&limit=1000`, undefined, tenant.auth)) as unknown[];
  if (active.length < n) throw new Error(`expected ${n} active silences, found ${active.length}`);
  return { silences: n, recurring };
}

export interface SilencedRun {
  silences: number;
  recurring: number;
  load: AlertLoadResult;
  arrivals: Arrivals;
}

/** Seeds the silences, then the same alert load as before; `listen` routes the sink's breach webhooks to the arrivals. */
export async function runWithSilences(
  o: Omit<AlertLoadOptions, 'arrivals'> & { breachRuleId: number; listen: (arrivals: Arrivals) => void },
): Promise<SilencedRun> {
  const seeded = await seedSilences(o.apiUrl, o.tenant, o.breachRuleId);
  const arrivals = new Arrivals();
  o.listen(arrivals);
  const load = await runAlertLoad({ ...o, arrivals });
  return { ...seeded, load, arrivals };
}

async function main(): Promise<void> {
  const DEVICES = Number(process.env.DEVICES ?? 1000);
  const RATE = Number(process.env.RATE ?? 2000);
  const SECONDS = Number(process.env.SECONDS ?? 30);
  const WORKERS = Number(process.env.WORKERS ?? 1);
  const env = benchEnv();
  const procs: Proc[] = [];
  let route: (body: { rule_id: number; device_id: number }, at: number) => void = () => {};
  const sink = createServer((req, res) => {
    void readBody(req).then((text) => {
      const at = performance.now();
      res.writeHead(200).end();
      const body = JSON.parse(text);
      if (body.event === 'alert.triggered') route(body, at);
    });
  });
  sink.keepAliveTimeout = 60_000;
  const sinkUrl = `${await listenLocal(sink)}/hook`;
  try {
    const apiProc = await startProcess('api', 'api', env, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    procs.push(apiProc);
    for (let i = 0; i < WORKERS; i++) procs.push(await startProcess(`worker${i + 1}`, 'worker', env, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }));
    const url = apiProc.url!;
    const tenant = await seedTenant(url, DEVICES, alertTags);
    const breachRuleId = await seedRules(url, tenant);
    await api(url, 'POST', `/projects/${tenant.projectId}/webhooks`, { url: sinkUrl }, tenant.auth);
    const listen = (arrivals: Arrivals) =>
      (route = (body, at) => {
        if (Number(body.rule_id) === breachRuleId) arrivals.arrived(Number(body.device_id), at);
      });
    const options = { apiUrl: url, tenant, rate: RATE, batch: 100, seconds: SECONDS, breachMs: 250, drainMs: 10_000 };
    const summary = (label: string, a: Arrivals, breaches: number) => {
      const s = [...a.latencies].sort((x, y) => x - y);
      return `${label.padEnd(26)} p50 ${fmt(percentile(s, 0.5))} ms   p99 ${fmt(percentile(s, 0.99))} ms   max ${fmt(s[s.length - 1] ?? NaN)} ms   (${s.length} of ${breaches} arrived)`;
    };
    process.stdout.write(`${fmt(DEVICES)} devices, 20 rules, ${RATE} readings/s for ${SECONDS} s, 1 api + ${WORKERS} worker(s)\n`);
    const plain = new Arrivals();
    listen(plain);
    const without = await runAlertLoad({ ...options, arrivals: plain });
    const withSilences = await runWithSilences({ ...options, breachRuleId, listen });
    process.stdout.write(
      [
        'POST answer → webhook:',
        `  ${summary('without silences', plain, without.breaches)}`,
        `  ${summary(`with ${withSilences.silences} silences (${withSilences.recurring} recurring)`, withSilences.arrivals, withSilences.load.breaches)}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    sink.closeAllConnections();
    sink.close();
    await dropRunData(env);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
