/**
 * Sends in flight per webhook in this process: a webhook starts at the floor and earns one
 * more slot with each success, up to the ceiling; any failure drops it back to the floor
 * (slow start, as TCP does). A healthy endpoint gets the concurrency its latency needs, while a
 * failing or hanging one (timeouts take seconds) holds few worker slots before its circuit
 * opens; its deliveries over the limit step aside for a moment without spending an attempt.
 */
const MIN_IN_FLIGHT_PER_WEBHOOK = 16;
const MAX_IN_FLIGHT_PER_WEBHOOK = 48;
/**
 * Jobs of one webhook in progress in this process (half the worker's job slots). Past this,
 * a new job of that webhook steps aside until about when those will be done, so one busy
 * webhook cannot hold every job slot while other webhooks' jobs wait in the queue.
 */
const MAX_JOBS_PER_WEBHOOK = 64;
/** A webhook none of whose sends finished for this long, with all its slots taken, is slow. */
const SLOW_SEND_MS = 500;
const RATE_WINDOW_MS = 200;

/**
 * A counting semaphore whose size follows the webhook's health. Waiters are served in order
 * for as long as sends keep finishing; when none has finished for SLOW_SEND_MS (the endpoint
 * hangs), they are all turned away.
 */
export class Slots {
  busy = 0;
  size = MIN_IN_FLIGHT_PER_WEBHOOK;
  lastRelease = Date.now();
  /** Jobs of this webhook in progress here (counting one that is deciding whether to stay). */
  jobs = 0;
  /** Smoothed sends finished per second, measured over windows of RATE_WINDOW_MS. */
  private rate = 200;
  private served = 0;
  private windowStart = Date.now();
  private readonly waiters: ((ok: boolean) => void)[] = [];
  private watchdog: NodeJS.Timeout | null = null;
  get idle(): boolean {
    return this.busy === 0 && this.waiters.length === 0 && this.jobs === 0;
  }
  /** Enough of this webhook's work is here already to keep its slots busy for a while. */
  get crowded(): boolean {
    return this.jobs > MAX_JOBS_PER_WEBHOOK;
  }
  get full(): boolean {
    return this.busy >= this.size;
  }
  get waiting(): number {
    return this.waiters.length;
  }
  get stalled(): boolean {
    return this.full && Date.now() - this.lastRelease > SLOW_SEND_MS;
  }
  /** About when what waits now will have had its turn. */
  get drainMs(): number {
    return ((this.waiters.length + this.busy) / this.rate) * 1000;
  }
  /** Resolves true with a slot, or false when the sends ahead stopped finishing. */
  acquire(): Promise<boolean> {
    if (this.busy < this.size) {
      this.busy++;
      return Promise.resolve(true);
    }
    if (!this.watchdog) {
      this.watchdog = setInterval(() => {
        if (Date.now() - this.lastRelease <= SLOW_SEND_MS && this.waiters.length) return;
        clearInterval(this.watchdog!);
        this.watchdog = null;
        for (const w of this.waiters.splice(0)) w(false);
      }, SLOW_SEND_MS / 2);
      this.watchdog.unref();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  /** Hands the slot on; `ok` says whether the send it held succeeded (null: nothing was sent). */
  release(ok: boolean | null): void {
    const now = Date.now();
    this.lastRelease = now;
    this.served++;
    if (now - this.windowStart >= RATE_WINDOW_MS) {
      this.rate = 0.5 * this.rate + (0.5 * this.served * 1000) / (now - this.windowStart);
      this.served = 0;
      this.windowStart = now;
    }
    if (ok === true) this.size = Math.min(MAX_IN_FLIGHT_PER_WEBHOOK, this.size + 1);
    else if (ok === false) this.size = MIN_IN_FLIGHT_PER_WEBHOOK;
    this.busy--;
    while (this.busy < this.size && this.waiters.length) {
      this.busy++;
      this.waiters.shift()!(true);
    }
  }
}
