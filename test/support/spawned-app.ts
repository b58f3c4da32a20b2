import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
// Start-up takes seconds on a quiet machine but much longer on a busy shared one; a slow
// start must not fail a suite, a hung one still does.
const START_TIMEOUT_MS = Number(process.env.TEST_APP_START_TIMEOUT_MS ?? 150_000);

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

export interface SpawnedApp {
  url: string;
  proc: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs the compiled platform (`dist/`, built by `npm test` before jest) as a separate OS
 * process against the run's database and Redis prefix: a second api, a worker, or both.
 */
export async function spawnApp(env: Record<string, string> = {}, entry = 'dist/src/main.js'): Promise<SpawnedApp> {
  const port = await freePort();
  let out = '';
  const proc = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { ...process.env, MIGRATE_ON_START: 'false', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  let stopping = false;
  // A platform that dies under a suite fails its tests with bare connection errors; its own
  // output says why, so it is shown.
  proc.on('close', (code, signal) => {
    if (!stopping) process.stderr.write(`\n[app ${url}] exited unexpectedly (code ${code}, signal ${signal}):\n${out}\n`);
  });
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const app: SpawnedApp = {
    url,
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      stopping = true;
      if (exited()) return;
      proc.kill(signal);
      await once(proc, 'exit');
    },
  };
  if ((env.ROLE ?? process.env.ROLE) === 'worker' || entry.endsWith('worker.js')) return app;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`app exited early (code ${proc.exitCode}, signal ${proc.signalCode}):\n${out}`);
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.status === 200) return app;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await app.stop('SIGKILL');
  throw new Error(`app did not become ready:\n${out}`);
}
