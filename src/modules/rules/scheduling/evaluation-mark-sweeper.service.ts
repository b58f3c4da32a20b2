import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EvaluationMarks } from './evaluation-marks.service';

const SWEEP_INTERVAL_MS = 5_000;

/**
 * Runs in the worker: every few seconds, evaluations that Redis could not take when their
 * readings landed are queued (EvaluationMarks). Several workers may sweep at once: a device
 * queued twice is evaluated twice, which changes nothing.
 */
@Injectable()
export class EvaluationMarkSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EvaluationMarks');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly marks: EvaluationMarks) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.marks
        .sweep()
        .then((n) => void (n && this.logger.log(`queued ${n} evaluations that Redis could not take earlier`)))
        .catch((err) => this.logger.warn(`evaluation mark sweep failed (retried in ${SWEEP_INTERVAL_MS} ms): ${err.message}`))
        .finally(() => (this.running = null));
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
