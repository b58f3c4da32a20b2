import { Logger } from '@nestjs/common';
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { laneEnvironment } from '../../config/app-config';

/** The two lanes: the api's (large POST /telemetry bodies) and the worker's (the bulk ingest queue). */
export type LaneKind = 'api' | 'worker';

export type LaneMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** What a lane and its parent say to each other over Node's IPC channel. */
export type LaneMessage =
  | { type: 'ready'; port?: number }
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'metrics?'; id: number }
  | { type: 'metrics'; id: number; metrics: LaneMetrics };

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A lane that ran this long before exiting is restarted after the shortest delay again. */
const HEALTHY_RUN_MS = 60_000;
const METRICS_TIMEOUT_MS = 2_000;
const STOP_GRACE_EXTRA_MS = 2_000;
/** Heartbeats per timeout: a lane is pinged this many times before it counts as hung. */
const PINGS_PER_TIMEOUT = 3;
/** The platform's entry point (dist/src/main.js), which starts a lane when LANE is set. */
const ENTRY = path.join(__dirname, '..', '..', 'main.js');

export interface LaneEvents {
  /** The lane took its first work or came back: it is the one doing its share now. */
  ready?(port: number | undefined): void;
  /** The lane exited: its parent does its share until it is back. */
  gone?(): void;
}

/**
 * One low-priority child process of an api or worker process (docs/lanes.md): started with
 * LANE set, restarted with backoff when it exits while its parent runs, stopped with it.
 * The child lowers its own priority (`lane-child.ts`); it also stops by itself when its
 * parent dies, since the IPC channel closes.
 */
export class LaneProcess {
  private readonly log: Logger;
  private child: ChildProcess | null = null;
  private port: number | undefined;
  private isReady = false;
  private stopping = false;
  private startedAt = 0;
  private restartDelay = RESTART_MIN_MS;
  private restartTimer: NodeJS.Timeout | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, (m: LaneMetrics) => void>();
  private heartbeat: NodeJS.Timeout | null = null;
  private heardAt = 0;

  /** `timeoutMs`: a ready lane that sends nothing for this long, heartbeat answers included, is killed and restarted. */
  constructor(
    readonly kind: LaneKind,
    private readonly shutdownGraceMs: number,
    private readonly timeoutMs: number,
    private readonly events: LaneEvents = {},
  ) {
    this.log = new Logger(`Lane:${kind}`);
  }

  /** The api lane's port on 127.0.0.1 while it is ready; undefined otherwise. */
  readyPort(): number | undefined {
    return this.isReady ? this.port : undefined;
  }

  ready(): boolean {
    return this.isReady;
  }

  start(): void {
    if (this.stopping) return;
    this.startedAt = Date.now();
    const child = fork(ENTRY, [], {
      env: laneEnvironment(this.kind),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // A session of its own: see lowerOwnPriority.
      detached: true,
    });
    this.child = child;
    child.on('message', (m: LaneMessage) => {
      this.heardAt = Date.now();
      this.onMessage(m);
    });
    child.on('error', (err) => this.log.warn(`lane process error: ${err.message}`));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
  }

  /** The lane's counters and histograms, or nothing if it is not running or does not answer in time. */
  metrics(): Promise<LaneMetrics> {
    const child = this.child;
    if (!this.isReady || !child?.connected) return Promise.resolve([]);
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve([]);
      }, METRICS_TIMEOUT_MS);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.send({ type: 'metrics?', id } satisfies LaneMessage, (err) => {
        if (err) this.waiting.get(id)?.([]);
      });
    });
  }

  /** From now on an exit is final (its parent is shutting down). */
  noMoreRestarts(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
  }

  /**
   * While the lane is ready, pings it a few times per timeout; a lane that has said nothing
   * for the whole timeout (stopped, or its event loop stuck) is killed, so the usual restart
   * follows and its parent does its work meanwhile. A request forwarded to it fails with the
   * lane and is answered 503 (`forward-to-lane.ts`). Not while it starts: readiness counts.
   */
  private watch(child: ChildProcess): void {
    this.heardAt = Date.now();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.child !== child || !child.connected) return;
      if (Date.now() - this.heardAt > this.timeoutMs) {
        this.log.warn(`lane (pid ${child.pid}) has not answered for ${this.timeoutMs} ms; killing it`);
        child.kill('SIGKILL');
        return;
      }
      child.send({ type: 'ping' } satisfies LaneMessage, () => undefined);
    }, Math.max(100, Math.floor(this.timeoutMs / PINGS_PER_TIMEOUT)));
    this.heartbeat.unref();
  }

  /** Stops the lane (SIGTERM: it finishes what it holds) and waits for it, for its grace and a little more. */
  async stop(): Promise<void> {
    this.noMoreRestarts();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.shutdownGraceMs + STOP_GRACE_EXTRA_MS);
    await exited;
    clearTimeout(timer);
  }

  private onMessage(m: LaneMessage): void {
    if (m.type === 'ready') {
      this.port = m.port;
      this.isReady = true;
      this.log.log(`lane ready (pid ${this.child?.pid}${m.port ? `, port ${m.port}` : ''})`);
      if (this.child) this.watch(this.child);
      this.events.ready?.(m.port);
    } else if (m.type === 'metrics') {
      const resolve = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      resolve?.(m.metrics);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const wasReady = this.isReady;
    this.isReady = false;
    this.child = null;
    for (const resolve of this.waiting.values()) resolve([]);
    this.waiting.clear();
    if (wasReady) this.events.gone?.();
    if (this.stopping) return;
    const delay = Date.now() - this.startedAt >= HEALTHY_RUN_MS ? RESTART_MIN_MS : this.restartDelay;
    this.restartDelay = Math.min(delay * 2, RESTART_MAX_MS);
    this.log.warn(`lane exited (code ${code}, signal ${signal}); restarting in ${delay} ms, its parent doing its work meanwhile`);
    this.restartTimer = setTimeout(() => this.start(), delay);
    this.restartTimer.unref();
  }
}
