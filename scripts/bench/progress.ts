import { fmt } from './platform';

/**
 * One phase's progress: on a TTY a single line redrawn in place (phase, percent, count, rate,
 * elapsed, and an optional note); otherwise a plain line every PLAIN_EVERY_MS and one at the end.
 */
const REDRAW_MS = 200;
const PLAIN_EVERY_MS = 5_000;
const BAR = 24;

export class Progress {
  private readonly started = performance.now();
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastPlain = '';
  private count = 0;
  private note = '';
  private fraction: number | undefined;
  private rateEnd: number | undefined;
  private done = false;

  /**
   * @param total the count at 100 %; 0 for a phase that runs for a set time (pass `fraction` to update())
   * @param unit  what is counted, for the rate ("readings", "requests")
   */
  constructor(
    private label: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY) && process.env.TERM !== 'dumb';
    if (this.tty) this.draw(true);
    else this.lastDraw = this.started;
  }

  /** `fraction` overrides count/total for the percent (a phase that runs for a set time). */
  update(count: number, opts: { note?: string; label?: string; fraction?: number } = {}): void {
    this.count = count;
    if (opts.note !== undefined) this.note = opts.note;
    if (opts.label !== undefined) this.label = opts.label;
    if (opts.fraction !== undefined) this.fraction = opts.fraction;
    this.draw(false);
  }

  /** The rate stays count / time until now (e.g. while a phase only waits for the last results). */
  stopRateClock(): void {
    this.rateEnd ??= performance.now();
  }

  finish(note?: string): void {
    if (this.done) return;
    if (note !== undefined) this.note = note;
    this.fraction = 1;
    this.done = true;
    this.draw(true);
    if (this.tty) this.out.write('\n');
  }

  /** Ends the line without claiming 100 % (on an error). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.tty) this.out.write('\n');
  }

  private line(): string {
    const seconds = (performance.now() - this.started) / 1000;
    const rateSeconds = ((this.rateEnd ?? performance.now()) - this.started) / 1000;
    const f = Math.max(0, Math.min(1, this.fraction ?? (this.total > 0 ? this.count / this.total : 0)));
    const filled = Math.round(f * BAR);
    const bar = this.tty ? `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ` : '';
    const count = this.total > 0 ? `${fmt(this.count)}/${fmt(this.total)}` : fmt(this.count);
    const rate = rateSeconds > 0 ? `${fmt(this.count / rateSeconds)} ${this.unit}/s` : '';
    return `${this.label.padEnd(18)} ${bar}${fmt(f * 100).padStart(3)}%  ${count} ${this.unit}  ${rate}  ${fmt(seconds, 1)} s${this.note ? `  ${this.note}` : ''}`;
  }

  private draw(force: boolean): void {
    const now = performance.now();
    if (this.tty) {
      if (!force && now - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = now;
      const width = this.out.columns || 120;
      this.out.write(`\r\x1b[K${this.line().slice(0, width - 1)}`);
    } else {
      if (!force && now - this.lastDraw < PLAIN_EVERY_MS) return;
      this.lastDraw = now;
      // The closing line does not repeat a periodic one that already said the same.
      const state = `${this.label}|${this.count}|${Math.round((this.fraction ?? 0) * 100)}|${this.note}`;
      if (state === this.lastPlain) return;
      this.lastPlain = state;
      this.out.write(`${this.line()}\n`);
    }
  }
}
