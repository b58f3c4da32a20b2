import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { deleteKeysWithPrefix } from '../../src/core/redis/delete-prefix';

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
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`${name} exited unexpectedly (code ${code}, signal ${signal})\n`);
  });
  const proc: Proc = {
    name,
    child,
    async stop() {
      stopping = true;
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      // A profiled process writes its profile on exit: give it time to finish its backlog.
      const grace = process.env.BENCH_PROFILE_DIR ? 120_000 : 10_000;
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, grace))]);
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

/** Resident memory of a process from /proc (kB → MB): its peak so far (VmHWM) or now (VmRSS). */
/**
 * A standalone phase's platform: one api and `workers` worker processes on a fresh bench
 * database, handed to `run`, then stopped and the database dropped whatever happens.
 */
export async function onPlatform<T>(extra: Record<string, string>, workers: number, run: (apiUrl: string, env: BenchEnv, procs: Proc[]) => Promise<T>): Promise<T> {
  const env = benchEnv();
  const procs: Proc[] = [];
  try {
    const apiProc = await startProcess('api', 'api', env, extra);
    procs.push(apiProc);
    for (let i = 0; i < workers; i++) procs.push(await startProcess(workers > 1 ? `worker${i + 1}` : 'worker', 'worker', env, extra));
    return await run(apiProc.url!, env, procs);
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await dropRunData(env);
  }
}

/** Jobs waiting or running in every queue, from the api's /metrics (delayed ones are not counted). */
export async function queuedJobs(apiUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^watchpost_queue_jobs\{queue="([^"]+)",state="(waiting|active)"\} (\d+)/gm)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[3]);
  return out;
}

/**
 * Waits (at most `maxMs`) until no job waits or runs in any queue, so that a phase does not
 * measure the backlog an earlier one left; returns what was queued at first and how long it took.
 */
export async function drainQueues(apiUrl: string, maxMs = 300_000): Promise<{ queued: Record<string, number>; seconds: number; drained: boolean }> {
  const started = performance.now();
  const queued = await queuedJobs(apiUrl);
  let now = queued;
  while (Object.values(now).some((n) => n > 0) && performance.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 500));
    now = await queuedJobs(apiUrl);
  }
  return { queued, seconds: Math.round((performance.now() - started) / 100) / 10, drained: !Object.values(now).some((n) => n > 0) };
}

export function rssMb(pid: number | undefined, which: 'peak' | 'now' = 'peak'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = (which === 'peak' ? /VmHWM:\s+(\d+) kB/ : /VmRSS:\s+(\d+) kB/).exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export const peakRssMb = (pid: number | undefined): number | null => rssMb(pid, 'peak');

/**
 * CPU seconds (user + system) of a process, from /proc; 0 once it is gone. With `reaped`, also
 * its exited children's (Postgres backends of closed connections end up in the postmaster's).
 */
export function cpuOf(pid: number | undefined, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process whose command name starts with `name` (the whole machine's). */
function cpuOfName(name: string): number {
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').startsWith(name)) sum += cpuOf(Number(d), true);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/**
 * The low-priority lanes (docs/lanes.md) of a platform process, found as its children with
 * LANE set, named `<process> lane`: they are processes of their own, measured like the others.
 */
export function lanesOf(procs: Proc[]): { name: string; pid: number }[] {
  const parents = new Map(procs.map((p) => [p.child.pid, p.name]));
  const lanes: { name: string; pid: number }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const parent = parents.get(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (parent && /(^|\0)LANE=(api|worker)(\0|$)/.test(readFileSync(`/proc/${d}/environ`, 'utf8'))) lanes.push({ name: `${parent} lane`, pid: Number(d) });
    } catch {
      // gone meanwhile
    }
  }
  return lanes;
}

export type CpuSnapshot = Record<string, number>;

/** CPU seconds so far of each platform process, this bench process (and sinks it runs), Postgres and Redis. */
export function cpuSnapshot(procs: Proc[]): CpuSnapshot {
  return {
    ...Object.fromEntries(procs.map((p) => [p.name, cpuOf(p.child.pid)])),
    ...Object.fromEntries(lanesOf(procs).map((l) => [l.name, cpuOf(l.pid)])),
    bench: cpuOf(process.pid),
    postgres: cpuOfName('postgres'),
    redis: cpuOfName('redis-server'),
  };
}

/** Share of one core each group used between two snapshots, in percent. */
export function cpuShare(a: CpuSnapshot, b: CpuSnapshot, seconds: number): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, Math.round(((b[k] - (a[k] ?? 0)) / seconds) * 100)]));
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

/** Everything a run leaves: its database and its Redis keys (queues, marks and counters). */
export async function dropRunData(env: BenchEnv): Promise<void> {
  await dropDatabase(env);
  await deleteKeysWithPrefix(env.redisUrl, env.redisPrefix);
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

/** A small seeded PRNG, so every run asks the same queries. */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
