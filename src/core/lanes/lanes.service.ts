import { Global, Inject, Injectable, Logger, Module, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { ShutdownSignal } from '../lifecycle/shutdown-signal';
import { JobQueue } from '../queue/job-queue.service';
import type { Queue } from 'bull';
import { QUEUES } from '../queue/queues';
import { LaneKind, LaneMetrics, LaneProcess } from './lane-process';

/** The queues a worker's lane takes (WorkerLaneModule's processors). */
const WORKER_LANE_QUEUES = [QUEUES.telemetryIngestBulk, QUEUES.ruleEvaluationHeavy];

/**
 * The low-priority lanes of this process (docs/lanes.md), started by bootstrap for the api
 * and worker roles when LOW_PRIORITY_LANES is on: the api's takes large POST /telemetry
 * bodies (BodyReader forwards them), the worker's takes the bulk ingest queue and heavy
 * evaluations, which this process then leaves to it, taking them back while the lane is down.
 */
@Injectable()
export class Lanes implements OnModuleDestroy {
  private readonly log = new Logger('Lanes');
  private readonly running = new Map<LaneKind, LaneProcess>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobQueue,
    shutdown: ShutdownSignal,
  ) {
    // A draining process keeps its lanes to the end (they finish what they hold) but does not restart them.
    shutdown.onDrain(() => this.running.forEach((lane) => lane.noMoreRestarts()));
  }

  /** Starts the lanes of `role` (api and worker for `all`), unless lanes are off or this process is one. */
  start(role: AppConfig['role']): void {
    if (!this.config.lanes.enabled || this.config.lanes.self !== 'none') return;
    if (role !== 'worker') this.startLane('api');
    if (role !== 'api') this.startLane('worker', this.handOverLaneQueues());
  }

  /** The api lane's port while it is ready to take a request. */
  apiLanePort(): number | undefined {
    return this.running.get('api')?.readyPort();
  }

  readiness(): Partial<Record<LaneKind, boolean>> {
    return Object.fromEntries([...this.running].map(([kind, lane]) => [kind, lane.ready()]));
  }

  /** Each ready lane's counters and histograms, for this process's /metrics. */
  metrics(): Promise<LaneMetrics[]> {
    return Promise.all([...this.running.values()].map((lane) => lane.metrics()));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.running.values()].map((lane) => lane.stop()));
  }

  private startLane(kind: LaneKind, events = {}): void {
    const lane = new LaneProcess(kind, this.config.shutdownGraceMs, this.config.lanes.timeoutMs, events);
    this.running.set(kind, lane);
    lane.start();
  }

  /**
   * While the worker's lane is ready, this process takes no job of the lane's queues (a local
   * pause: Bull's other processes are not affected); when it is gone, it takes them again.
   */
  private handOverLaneQueues() {
    const queues = WORKER_LANE_QUEUES.map((name) => this.jobs.queue(name));
    const each = (what: string, act: (q: Queue) => Promise<void>) => () =>
      queues.forEach((q) => void act(q).catch((err: Error) => this.log.warn(`${q.name} not ${what} locally: ${err.message}`)));
    return { ready: each('paused', (q) => q.pause(true)), gone: each('resumed', (q) => q.resume(true)) };
  }
}

@Global()
@Module({ providers: [Lanes], exports: [Lanes] })
export class LanesModule {}
