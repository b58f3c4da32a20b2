import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

/**
 * Redis and Postgres that a fault test owns, on its own port, so it can kill and restart them
 * without touching the shared services every other suite uses.
 */

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up in ${timeoutMs} ms`);
}

export class OwnRedis {
  readonly url: string;
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'watchpost-redis-'));

  constructor(
    readonly port: number,
    private readonly appendOnly: boolean,
    private readonly extraArgs: string[] = [],
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** Starts (or restarts, on the same data directory) the server and waits for it to answer. */
  async start(): Promise<this> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', this.appendOnly ? 'yes' : 'no', ...this.extraArgs];
    this.proc = spawn('redis-server', args, { stdio: 'ignore' });
    await until(`redis on ${this.port}`, async () => {
      const r = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } finally {
        r.disconnect();
      }
    });
    return this;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    await once(p, 'exit');
  }

  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Postgres 15 cluster of its own (pg_createcluster), trust auth on loopback. */
export class OwnPostgres {
  readonly url: string;

  /** `settings`: postgresql.conf entries of the new cluster (e.g. { wal_writer_delay: '10s' }). */
  constructor(
    readonly name: string,
    readonly port: number,
    readonly settings: Record<string, string> = {},
  ) {
    this.url = `postgres://postgres@127.0.0.1:${port}/watchpost`;
  }

  async create(): Promise<this> {
    this.drop();
    const options = Object.entries(this.settings).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
    execFileSync('pg_createcluster', ['15', this.name, '-p', String(this.port), ...options, '--', '--auth=trust'], { stdio: 'ignore' });
    this.start();
    await until(`postgres on ${this.port}`, async () => {
      const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres` });
      await c.connect();
      await c.end();
      return true;
    });
    const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres` });
    await c.connect();
    await c.query('CREATE DATABASE watchpost');
    await c.end();
    return this;
  }

  start(): void {
    execFileSync('pg_ctlcluster', ['15', this.name, 'start'], { stdio: 'ignore' });
  }

  /** Fast shutdown: sessions are ended, new connections refused until `start`. */
  stop(): void {
    execFileSync('pg_ctlcluster', ['15', this.name, 'stop', '-m', 'fast'], { stdio: 'ignore' });
  }

  /**
   * A crash: immediate shutdown, every server process quits at once, without a checkpoint
   * and without writing what is still in its WAL buffers (as after a kill -9 of a backend);
   * the next `start` recovers from the WAL on disk.
   */
  crash(): void {
    execFileSync('pg_ctlcluster', ['15', this.name, 'stop', '-m', 'immediate'], { stdio: 'ignore' });
  }

  async waitUp(): Promise<void> {
    await until(`postgres on ${this.port}`, async () => {
      const c = new Client({ connectionString: this.url });
      await c.connect();
      await c.end();
      return true;
    });
  }

  drop(): void {
    try {
      execFileSync('pg_dropcluster', ['--stop', '15', this.name], { stdio: 'ignore' });
    } catch {
      /* there was none */
    }
  }
}
