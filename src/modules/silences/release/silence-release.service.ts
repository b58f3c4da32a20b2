import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SilencesService } from '../silences.service';

/**
 * How often workers look for held notifications due a recheck. A window's end is noticed at
 * the first tick after it, well within the 5 s the design allows; the query behind a tick
 * reads an index of the (few) held rows due now.
 */
export const RELEASE_INTERVAL_MS = 1_000;

/**
 * Runs in every worker: delivers what silences held back once they stop matching. Any number
 * of workers may tick at once (rows are shared out with SKIP LOCKED and deleted with their
 * deliveries), and a worker killed mid-release leaves its rows to the next tick of any worker.
 */
@Injectable()
export class SilenceRelease implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SilenceRelease');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly silences: SilencesService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.silences
        .releaseAllDue()
        .then(() => undefined)
        .catch((err) => this.logger.warn(`release failed: ${err.message}`))
        .finally(() => (this.running = null));
    }, RELEASE_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
