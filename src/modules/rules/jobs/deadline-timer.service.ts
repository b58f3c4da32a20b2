import { Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { RuleEvaluationService } from '../evaluation/rule-evaluation.service';
import { DeadlinesRepository, DueDevice } from '../scheduling/deadlines.repository';

/** How often an idle timer looks for due deadlines: the firing lag is at most this plus the evaluation. */
const POLL_MS = 250;
/** Devices taken per look; a full batch is followed by the next look at once. */
const BATCH = 1_000;
/** Transactions at once (each holds a pooled connection), and devices per transaction (one commit each). */
const CONCURRENCY = 6;
const DEVICES_PER_TRANSACTION = 50;

/**
 * Fires no-data silences and for_seconds conditions at their due moment (docs/rules.md): each
 * worker looks up the pairs whose due_at has passed (an index range scan, however many devices
 * are watched) and evaluates their devices, exactly as a reading would, under the device's
 * advisory lock, DEVICES_PER_TRANSACTION devices per commit. Several workers may look at once: a device another one holds is skipped and
 * stays due, and an evaluation that finds its pair already handled changes nothing, so every
 * deadline fires once. Deadlines live in Postgres, so a restarted worker finds them all.
 */
@Injectable()
export class DeadlineTimer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DeadlineTimer');
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deadlines: DeadlinesRepository,
    private readonly evaluation: RuleEvaluationService,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err) => {
          this.logger.warn(`looking for due deadlines failed: ${(err as Error).message}`);
          return 0;
        })
        .then((n) => this.schedule(n >= BATCH ? 0 : POLL_MS))
        .finally(() => (this.running = null));
    }, ms);
    this.timer.unref();
  }

  /** Evaluates the devices with a due deadline; returns how many were found. */
  async tick(): Promise<number> {
    const due = await this.deadlines.dueDevices(BATCH);
    const chunks: DueDevice[][] = [];
    for (let i = 0; i < due.length; i += DEVICES_PER_TRANSACTION) chunks.push(due.slice(i, i + DEVICES_PER_TRANSACTION));
    let next = 0;
    const lane = async () => {
      while (next < chunks.length && !this.stopped) await this.fire(chunks[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, chunks.length) }, lane));
    return due.length;
  }

  private async fire(devices: DueDevice[]): Promise<void> {
    const batch = devices.map((d) => ({ scope: { orgId: Number(d.org_id), projectId: Number(d.project_id) }, deviceId: Number(d.device_id) }));
    await this.evaluation
      .evaluateDue(batch)
      .catch((err) => this.logger.warn(`devices ${batch[0].deviceId}…: ${(err as Error).message}`));
  }
}
