/**
 * The web console in headless Chromium against a project of 10,000 devices and 1,000 open
 * alerts: time to first render of the overview, devices and alerts pages, and the delay from
 * the POST that opens an alert to its row appearing in the browser (50 alerts, p50/p99).
 *   npm run -s build && node dist/scripts/bench/console.js
 * Writes its figures under `figures.console` of bench/results/latest.json (kept if present).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchChromium } from '../headless-chromium';
import { api, benchEnv, dropRunData, fmt, percentile, ROOT, seedTenant, startProcess } from './platform';

const DEVICES = Number(process.env.CONSOLE_DEVICES ?? 10_000);
const ALERTS = Number(process.env.CONSOLE_ALERTS ?? 1_000);
const LIVE = Number(process.env.CONSOLE_LIVE_ALERTS ?? 50);
const log = (msg: string) => process.stderr.write(`[console] ${msg}\n`);

export interface ConsoleFigures {
  devices: number;
  open_alerts: number;
  bundle: { file: string; raw: number; gzip: number }[];
  bundle_gzip_total: number;
  first_render_ms: Record<string, Timing>;
  post_to_row_ms: { count: number; p50: number; p99: number; max: number };
}

/**
 * The page's CSP forbids string evaluation inside it (so Playwright's waitForFunction cannot
 * run there); checks are injected as an init script instead (the debugging protocol adds it to
 * every new document) and read back with evaluate. Each frame, it notes in the page's own clock
 * (ms since navigation start) when the heading shows (shell) and when the page's data has
 * rendered (data).
 */
function timingScript(devices: number): string {
  const count = devices.toLocaleString('en-US');
  return `(() => {
    // first: the page shows its first data; data: all of it (every device counted or listed).
    const first = {
      '/console': () => /^[1-9]/.test(document.querySelector('[data-testid=device-count]')?.textContent ?? '') && document.querySelector('[data-testid=open-by-severity][data-loaded=true]'),
      '/console/alerts': () => document.querySelector('[data-alert-id]'),
      '/console/devices': () => document.querySelector('.vrow'),
    }[location.pathname];
    const ready = {
      '/console': () => document.querySelector('[data-testid=device-count]')?.textContent === '${count}' && document.querySelector('[data-testid=open-by-severity][data-loaded=true]'),
      '/console/alerts': () => document.querySelectorAll('[data-alert-id]').length >= 100,
      '/console/devices': () => document.querySelectorAll('.vrow').length > 0 && document.querySelector('[data-testid=device-total]')?.textContent?.startsWith('${count} of ${count} devices'),
    }[location.pathname];
    const t = (window.__times = {});
    const check = () => {
      if (t.shell === undefined && document.getElementById('page-heading')) t.shell = performance.now();
      if (t.first === undefined && first && first()) t.first = performance.now();
      if (t.data === undefined && ready && ready()) t.data = performance.now();
      if (t.data === undefined) requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  })()`;
}

async function until<T>(page: Page, expression: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = (await page.evaluate(expression)) as T | undefined | null;
    if (v !== undefined && v !== null && (v as unknown) !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Timing {
  shell: number;
  first: number;
  data: number;
}

async function timePage(page: Page, url: string): Promise<Timing> {
  await page.goto(url, { waitUntil: 'commit' });
  const t = await until<Timing>(page, `window.__times && window.__times.data !== undefined ? window.__times : null`);
  return { shell: Math.round(t.shell), first: Math.round(t.first ?? t.data), data: Math.round(t.data) };
}

export async function runConsoleBench(): Promise<ConsoleFigures> {
  const env = benchEnv();
  const proc = await startProcess('console-all', 'all', env);
  const browser = await launchChromium();
  try {
    const url = proc.url!;
    log(`seeding ${DEVICES} devices`);
    const tenant = await seedTenant(url, DEVICES);
    const rule = await api(url, 'POST', `/projects/${tenant.projectId}/rules`, { name: 'hot', metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, cooldown_seconds: 0, severity: 'critical' }, tenant.auth);
    log(`opening ${ALERTS} alerts`);
    // Stamped a few minutes ago, so the overview's readings-per-minute chart (last hour) shows them.
    let clock = Date.now() - 5 * 60_000;
    const breach = (externalId: string) => api(url, 'POST', '/telemetry', { device_external_id: externalId, events: [{ ts: new Date((clock += 1)).toISOString(), data: { temperature: 95 } }] }, tenant.auth);
    for (let i = 0; i < ALERTS; i += 25) await Promise.all(tenant.devices.slice(i, Math.min(ALERTS, i + 25)).map((d) => breach(d.external_id)));
    const deadline = Date.now() + 120_000;
    for (;;) {
      const open = await fetch(`${url}/projects/${tenant.projectId}/alerts?status=open&rule_id=${rule.id}&limit=1000`, { headers: tenant.auth }).then((r) => r.json() as Promise<unknown[]>);
      if (open.length >= ALERTS) break;
      if (Date.now() > deadline) throw new Error(`only ${open.length} of ${ALERTS} alerts opened`);
      await new Promise((r) => setTimeout(r, 500));
    }

    const page = await browser.context.newPage();
    await page.addInitScript(timingScript(DEVICES));
    await page.goto(`${url}/console`);
    await page.evaluate(`sessionStorage.setItem('watchpost.console.session', ${JSON.stringify(JSON.stringify({ apiKey: tenant.key, projectId: tenant.projectId }))})`);
    // Warm: the first load fills the HTTP cache with the hashed assets, as a returning user has.
    await timePage(page, `${url}/console`);
    const firstRender = {
      overview: await timePage(page, `${url}/console`),
      alerts: await timePage(page, `${url}/console/alerts`),
      devices: await timePage(page, `${url}/console/devices`),
    };
    log(`first render: ${JSON.stringify(firstRender)}`);
    const shots = path.join(ROOT, 'test-output/console');
    mkdirSync(shots, { recursive: true });
    await page.goto(`${url}/console`);
    await until(page, `!!document.querySelector('[data-testid=open-by-severity][data-loaded=true]') && !!document.querySelector('[data-testid=rpm-last]') && document.querySelector('[data-testid=device-count]').textContent === '${DEVICES.toLocaleString('en-US')}'`);
    await until(page, `!!document.querySelector('.chart canvas')`, 10_000).catch(() => undefined);
    await page.screenshot({ path: path.join(shots, 'bench-overview-1440.png') });
    await page.goto(`${url}/console/alerts`);
    await until(page, `document.querySelectorAll('[data-alert-id]').length >= 100 && !document.querySelector('[data-alert-id] a')?.textContent?.startsWith('device ')`);
    await page.screenshot({ path: path.join(shots, 'bench-alerts-1440.png') });

    // Live: a row appears for each new alert; the page notes when (its clock is the machine's).
    await page.waitForSelector('[data-stream-state="open"]');
    await until(page, `document.querySelectorAll('[data-alert-id]').length >= 100`);
    await page.evaluate(`(() => {
      window.__seen = {};
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-device-id]')) {
          const id = el.getAttribute('data-device-id');
          if (!(id in window.__seen)) window.__seen[id] = Date.now();
        }
      }).observe(document.body, { childList: true, subtree: true });
      for (const el of document.querySelectorAll('[data-device-id]')) window.__seen[el.getAttribute('data-device-id')] = 0;
    })()`);
    const delays: number[] = [];
    for (const d of tenant.devices.slice(ALERTS, ALERTS + LIVE)) {
      const sent = Date.now();
      await breach(d.external_id);
      const seen = await until<number>(page, `window.__seen[${JSON.stringify(String(d.id))}]`, 30_000);
      delays.push(seen - sent);
    }
    delays.sort((a, b) => a - b);
    const live = { count: delays.length, p50: percentile(delays, 0.5), p99: percentile(delays, 0.99), max: delays[delays.length - 1] };
    log(`POST → row: p50 ${live.p50} ms, p99 ${live.p99} ms (${live.count} alerts)`);

    const bundle = bundleSizes();
    return {
      devices: DEVICES,
      open_alerts: ALERTS,
      bundle,
      bundle_gzip_total: bundle.reduce((s, b) => s + b.gzip, 0),
      first_render_ms: firstRender,
      post_to_row_ms: live,
    };
  } finally {
    await browser.close();
    await proc.stop();
    await dropRunData(env).catch(() => undefined);
  }
}

/** The built assets' sizes, raw and gzip (level 9, as the server sends them). */
export function bundleSizes(): { file: string; raw: number; gzip: number }[] {
  const dir = path.join(ROOT, 'dist/console/assets');
  const html = readFileSync(path.join(ROOT, 'dist/console/index.html'), 'utf8');
  return [...html.matchAll(/\/console\/assets\/([^"]+)/g)].map(([, file]) => {
    const body = readFileSync(path.join(dir, file));
    return { file, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
}

/** Runs the phase and sets `figures.console` in bench/results/latest.json. */
export async function runConsoleBenchInto(file = path.join(ROOT, 'bench/results/latest.json')): Promise<ConsoleFigures> {
  const figures = await runConsoleBench();
  mkdirSync(path.dirname(file), { recursive: true });
  const result = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { date: new Date().toISOString(), figures: {} };
  result.figures = { ...result.figures, console: figures };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const r = figures.first_render_ms;
  process.stdout.write(
    [
      '',
      `console: bundle ${figures.bundle.map((b) => `${b.file} ${fmt(b.raw / 1024, 1)} KB raw / ${fmt(b.gzip / 1024, 1)} KB gzip`).join(', ')}`,
      `console: first render with ${fmt(figures.devices)} devices, ${fmt(figures.open_alerts)} open alerts (shell / first data / all data, ms): ${(['overview', 'alerts', 'devices'] as const).map((k) => `${k} ${r[k].shell} / ${r[k].first} / ${r[k].data}`).join(', ')}`,
      `console: POST → alert row in the browser p50 / p99 / max: ${figures.post_to_row_ms.p50} / ${figures.post_to_row_ms.p99} / ${figures.post_to_row_ms.max} ms over ${figures.post_to_row_ms.count}`,
      '',
    ].join('\n'),
  );
  return figures;
}

if (require.main === module) {
  runConsoleBenchInto().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`console bench failed: ${err?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
