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
  private count = 0;
  private note = '';
  private fraction: number | undefined;
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
    this.draw(true);
  }

  /** `fraction` overrides count/total for the percent (a phase that runs for a set time). */
  update(count: number, opts: { note?: string; label?: string; fraction?: number } = {}): void {
    this.count = count;
    if (opts.note !== undefined) this.note = opts.note;
    if (opts.label !== undefined) this.label = opts.label;
    if (opts.fraction !== undefined) this.fraction = opts.fraction;
    this.draw(false);
  }

  finish(note?: string): void {
    if (this.done) return;
    if (note !== undefined) this.note = note;
    if (this.total <= 0) this.fraction = 1;
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
    const f = Math.max(0, Math.min(1, this.fraction ?? (this.total > 0 ? this.count / this.total : 0)));
    const filled = Math.round(f * BAR);
    const bar = this.tty ? `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ` : '';
    const count = this.total > 0 ? `${fmt(this.count)}/${fmt(this.total)}` : fmt(this.count);
    const rate = seconds > 0 ? `${fmt(this.count / seconds)} ${this.unit}/s` : '';
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
      this.out.write(`${this.line()}\n`);
    }
  }
}
