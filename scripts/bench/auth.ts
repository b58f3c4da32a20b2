/**
 * `npm run bench:auth`: what API-key authentication costs per request. Starts the compiled
 * platform on a throwaway database and Redis prefix, makes a tenant with a few devices, then
 * loads `GET /health` (no auth) and `GET /projects/{id}/devices` (API key, cached after the
 * first bcrypt) with autocannon and compares them. Cleans everything up afterwards.
 *
 * Settings (environment): BENCH_DURATION seconds per endpoint (10), BENCH_CONNECTIONS (50),
 * BENCH_WARMUP seconds (2), BENCH_DEVICES (5), BENCH_DATABASE_URL (a URL on the server to use;
 * its database name is replaced), BENCH_REDIS_URL.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { dropDatabase } from '../../src/core/database/ensure-database';
import { deleteKeysWithPrefix } from '../../src/core/redis/delete-prefix';

const ROOT = path.resolve(__dirname, '../../..');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 5);
const BASE_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const log = (msg: string) => process.stderr.write(`[bench:auth] ${msg}\n`);

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

interface Platform {
  url: string;
  adminToken: string;
  stop(): Promise<void>;
}

async function startPlatform(databaseUrl: string, redisPrefix: string): Promise<Platform> {
  const port = await freePort();
  const adminToken = randomBytes(24).toString('hex');
  let output = '';
  const proc: ChildProcess = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ROLE: 'api',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_PREFIX: redisPrefix,
      ADMIN_TOKEN: adminToken,
      MIGRATE_ON_START: 'true',
      LOG_LEVEL: 'warn',
      // The default 600/min per key would turn the keyed run into a 429 benchmark.
      RATE_LIMIT_PROJECT_PER_MINUTE: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const exited = once(proc, 'exit');
  const platform: Platform = {
    url: `http://127.0.0.1:${port}`,
    adminToken,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`platform exited early:\n${output}`);
    const ready = await fetch(`${platform.url}/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return platform;
    await new Promise((r) => setTimeout(r, 200));
  }
  await platform.stop();
  throw new Error(`platform did not become ready within 60 s:\n${output}`);
}

async function call(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** An org, a project, an all-scopes key and a few devices, made through the API. */
async function seed(p: Platform): Promise<{ projectId: number; apiKey: string }> {
  const admin = { 'X-Admin-Token': p.adminToken };
  const org = await call(`${p.url}/orgs`, 'POST', admin, { name: 'bench' });
  const project = await call(`${p.url}/orgs/${org.id}/projects`, 'POST', admin, { name: 'bench' });
  const key = await call(`${p.url}/projects/${project.id}/api-keys`, 'POST', admin, { name: 'bench' });
  for (let i = 0; i < DEVICES; i++) {
    await call(`${p.url}/projects/${project.id}/devices`, 'POST', { 'X-API-Key': key.api_key }, {
      external_id: `bench-${i}`,
      name: `Bench device ${i}`,
      tags: ['bench'],
    });
  }
  const listed = await call(`${p.url}/projects/${project.id}/devices`, 'GET', { 'X-API-Key': key.api_key });
  if (!Array.isArray(listed) || listed.length !== DEVICES) throw new Error(`expected ${DEVICES} devices, got ${JSON.stringify(listed)}`);
  return { projectId: project.id, apiKey: key.api_key };
}

interface Row {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  ok: number;
  other: number;
}

async function load(name: string, url: string, headers: Record<string, string>): Promise<Row> {
  if (WARMUP > 0) await autocannon({ url, connections: CONNECTIONS, duration: WARMUP, headers });
  log(`${name}: ${DURATION} s, ${CONNECTIONS} connections`);
  const r: autocannon.Result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
  const other = r.non2xx + r.errors + r.timeouts;
  if (other > 0) log(`WARNING ${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts ${JSON.stringify(r.statusCodeStats)}`);
  return { name, reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, ok: r['2xx'], other };
}

const machine = () => `${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;

function report(rows: Row[]): string {
  const header = ['endpoint', 'req/s', 'p50 ms', 'p99 ms', '2xx', 'other'];
  const cells = rows.map((r) => [r.name, r.reqPerSec.toFixed(0), r.p50.toFixed(1), r.p99.toFixed(1), String(r.ok), String(r.other)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const [unauth, auth] = rows;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
    '',
    `authenticated / unauthenticated: ${(auth.reqPerSec / unauth.reqPerSec).toFixed(2)}x req/s, ` +
      `${(auth.p50 / unauth.p50).toFixed(2)}x p50 latency, ${(auth.p99 / unauth.p99).toFixed(2)}x p99 latency`,
    `${CONNECTIONS} connections, ${DURATION} s each after ${WARMUP} s warm-up; autocannon and the platform share ${machine()}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const db = new URL(BASE_DATABASE_URL);
  db.pathname = `/watchpost_bench_${id}`;
  const databaseUrl = db.toString();
  const redisPrefix = `wpbench:${id}`;

  let platform: Platform | null = null;
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      await platform?.stop();
      await dropDatabase(databaseUrl).catch((err) => log(`could not drop ${db.pathname.slice(1)}: ${err.message}`));
      await deleteKeysWithPrefix(REDIS_URL, redisPrefix).catch((err) => log(`could not remove Redis keys ${redisPrefix}:*: ${err.message}`));
      log(`stopped the platform, dropped ${db.pathname.slice(1)} and ${redisPrefix}:*`);
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }

  try {
    log(`starting the platform (ROLE=api) on database ${db.pathname.slice(1)}, Redis prefix ${redisPrefix}`);
    platform = await startPlatform(databaseUrl, redisPrefix);
    const { projectId, apiKey } = await seed(platform);
    log(`seeded project ${projectId} with ${DEVICES} devices; warm-up ${WARMUP} s before each run; ${machine()}`);
    const rows = [
      await load('GET /health (no auth)', `${platform.url}/health`, {}),
      await load(`GET /projects/${projectId}/devices (API key)`, `${platform.url}/projects/${projectId}/devices`, { 'X-API-Key': apiKey }),
    ];
    const text = report(rows);
    process.stdout.write(`\n${text}\n\n`);
    const dir = path.join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `auth-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine: machine(), duration: DURATION, connections: CONNECTIONS, devices: DEVICES, node: process.version, rows }, null, 2));
    log(`figures saved in ${path.relative(ROOT, file)}`);
    if (rows.some((r) => r.other > 0)) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? String(err)}\n`);
  process.exit(1);
});
