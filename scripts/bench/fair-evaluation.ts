import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { readSse } from '../local-http';
import { api, benchEnv, dropRunData, fmt, percentile, ROOT, seedTenant, startProcess } from './platform';

/**
 * `node dist/scripts/bench/fair-evaluation.js`: how much one project's expensive rules delay
 * another project's alerts (docs/hostile-input.md, "Fair evaluation"). Project A has DEVICES
 * busy devices, each with WINDOW readings, and RULES rules of window_n WINDOW over all of them,
 * and keeps sending a reading per device every A_TICK_MS. Project B has one device and one
 * rule (1 of 1); it alternates a breach and a normal reading, and for each breach measures
 * POST answered → alert.triggered on its SSE stream. B posts with wait=true, so the figure is
 * evaluation's share (scheduling, queueing, evaluating, notifying), not the shared writer's.
 * Once without A's load, once with it.
 */
const DEVICES = Number(process.env.FAIR_DEVICES ?? 10);
const RULES = Number(process.env.FAIR_RULES ?? 20);
const WINDOW = Number(process.env.FAIR_WINDOW ?? 10_000);
const A_TICK_MS = 100;
const SAMPLES = Number(process.env.FAIR_SAMPLES ?? 30);

interface Figures {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measureB(url: string, b: Awaited<ReturnType<typeof seedTenant>>, clock: { t: number }): Promise<Figures> {
  const device = b.devices[0];
  const controller = new AbortController();
  const res = await fetch(`${url}/alerts/stream`, { headers: b.auth, signal: controller.signal });
  const waiters: ((type: string) => void)[] = [];
  void readSse(res.body!, ({ type }) => waiters.splice(0).forEach((w) => w(type))).catch(() => undefined);
  const next = (type: string) => new Promise<void>((resolve) => {
    const check = (t: string) => (t === type ? resolve() : waiters.push(check));
    waiters.push(check);
  });
  const send = (value: number) =>
    api(url, 'POST', '/telemetry?wait=true', { device_external_id: device.external_id, events: [{ ts: new Date((clock.t += 1000)).toISOString(), data: { temperature: value } }] }, b.auth);
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const triggered = next('alert.triggered');
    await send(99);
    const t0 = performance.now();
    await triggered;
    latencies.push(performance.now() - t0);
    const resolved = next('alert.resolved');
    await send(20);
    await resolved;
    await sleep(50);
  }
  controller.abort();
  latencies.sort((x, y) => x - y);
  return { p50_ms: Math.round(percentile(latencies, 0.5)), p99_ms: Math.round(percentile(latencies, 0.99)), max_ms: Math.round(latencies[latencies.length - 1]) };
}

export async function runFairEvaluation(): Promise<{ without_a: Figures; with_a: Figures }> {
  const env = benchEnv();
  const proc = await startProcess('all', 'all', env, { RATE_LIMIT_READINGS_PER_MINUTE: '0' });
  const url = proc.url!;
  let stop = false;
  try {
    const a = await seedTenant(url, DEVICES);
    const b = await seedTenant(url, 1);
    const clock = { t: Date.UTC(2026, 0, 1) };
    process.stdout.write(`[fair] seeding ${DEVICES} × ${WINDOW} readings for project A\n`);
    for (const d of a.devices) {
      for (let done = 0; done < WINDOW; done += 5000) {
        const events = Array.from({ length: Math.min(5000, WINDOW - done) }, () => ({ ts: new Date((clock.t += 1000)).toISOString(), data: { temperature: 20, humidity: 50 } }));
        await api(url, 'POST', '/telemetry?wait=true', { device_external_id: d.external_id, events }, a.auth);
      }
    }
    for (let i = 0; i < RULES; i++) {
      await api(url, 'POST', `/projects/${a.projectId}/rules`, { name: `wide-${i}`, metric: i % 2 ? 'humidity' : 'temperature', operator: '>', threshold: 1000 + i, window_n: WINDOW, required_k: WINDOW, cooldown_seconds: 0 }, a.auth);
    }
    await api(url, 'POST', `/projects/${b.projectId}/rules`, { name: 'b-breach', metric: 'temperature', operator: '>', threshold: 90, window_n: 1, required_k: 1, cooldown_seconds: 0 }, b.auth);

    const withoutA = await measureB(url, b, clock);
    process.stdout.write(`[fair] B without A: p50 ${withoutA.p50_ms} ms, p99 ${withoutA.p99_ms} ms\n`);

    const load = (async () => {
      while (!stop) {
        const started = Date.now();
        await Promise.all(
          a.devices.map((d) =>
            api(url, 'POST', '/telemetry', { device_external_id: d.external_id, events: [{ ts: new Date((clock.t += 1000)).toISOString(), data: { temperature: 20, humidity: 50 } }] }, a.auth).catch(() => undefined),
          ),
        );
        await sleep(Math.max(0, A_TICK_MS - (Date.now() - started)));
      }
    })();
    await sleep(3_000);
    const withA = await measureB(url, b, clock);
    process.stdout.write(`[fair] B with A: p50 ${withA.p50_ms} ms, p99 ${withA.p99_ms} ms, max ${withA.max_ms} ms\n`);
    stop = true;
    await load;
    return { without_a: withoutA, with_a: withA };
  } finally {
    stop = true;
    await proc.stop();
    await dropRunData(env);
  }
}

if (require.main === module) {
  runFairEvaluation().then(
    (figures) => {
      const file = path.join(ROOT, 'bench/results/latest.json');
      mkdirSync(path.dirname(file), { recursive: true });
      let all: Record<string, unknown> = {};
      try {
        all = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        /* first figures */
      }
      all.fair_evaluation = { devices: DEVICES, rules: RULES, window_n: WINDOW, samples: SAMPLES, ...figures };
      writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
      process.stdout.write(`[fair] B's breach → alert: ${fmt(figures.without_a.p50_ms)} ms p50 alone, ${fmt(figures.with_a.p50_ms)} ms p50 / ${fmt(figures.with_a.p99_ms)} ms p99 beside A\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
