import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';

/** Shared by the benchmarks: run the platform as users do, as separate OS processes. */

export const ROOT = path.resolve(__dirname, '../../..');
export const ADMIN_TOKEN = `bench-admin-${randomBytes(8).toString('hex')}`;

export interface BenchEnv {
  id: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
}

export function benchEnv(): BenchEnv {
  const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const base = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/watchpost_bench_${id}`;
  return {
    id,
    databaseUrl: base.toString(),
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: `wpbench:${id}`,
  };
}

export async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  url?: string;
  stop(): Promise<void>;
}

export async function startProcess(name: string, role: 'api' | 'worker' | 'all', env: BenchEnv, extra: Record<string, string> = {}): Promise<Proc> {
  const port = await freePort();
  const entry = role === 'worker' ? 'dist/src/worker.js' : 'dist/src/main.js';
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}/${name}`] : [];
  const child = spawn(process.execPath, [...profile, entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      ROLE: role,
      PORT: String(port),
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      REDIS_PREFIX: env.redisPrefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'error',
      RATE_LIMIT_TELEMETRY_PER_MINUTE: '0',
      RATE_LIMIT_TELEMETRY_PER_HOUR: '0',
      RATE_LIMIT_PROJECT_PER_MINUTE: '0',
      ...extra,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const proc: Proc = {
    name,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
  if (role === 'worker') return proc;
  proc.url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await fetch(`${proc.url}/health/ready`).then((r) => r.ok, () => false);
    if (ok) return proc;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not become ready`);
}

/** Peak resident memory of a process so far, from /proc (kB → MB). */
export function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string;
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export async function pg(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

export async function dropDatabase(env: BenchEnv): Promise<void> {
  const admin = new URL(env.databaseUrl);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const c = await pg(admin.toString());
  await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await c.end();
}

export async function api(url: string, method: string, p: string, body: unknown, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url + p, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A fresh org, project, all-scopes key and `n` devices. */
export async function seedTenant(url: string, devices: number, tags: (i: number) => string[] = () => []) {
  const admin = { 'X-Admin-Token': ADMIN_TOKEN };
  const org = await api(url, 'POST', '/orgs', { name: 'bench' }, admin);
  const project = await api(url, 'POST', `/orgs/${org.id}/projects`, { name: 'bench' }, admin);
  const key = await api(url, 'POST', `/projects/${project.id}/api-keys`, { name: 'bench' }, admin);
  const auth = { 'X-API-Key': key.api_key as string };
  const ids: { id: number; external_id: string }[] = [];
  for (let i = 0; i < devices; i += 50) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(50, devices - i) }, (_, j) =>
        api(url, 'POST', `/projects/${project.id}/devices`, { external_id: `dev-${i + j}`, name: `Device ${i + j}`, tags: tags(i + j) }, auth),
      ),
    );
    ids.push(...chunk);
  }
  return { orgId: org.id as number, projectId: project.id as number, key: key.api_key as string, auth, devices: ids };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
