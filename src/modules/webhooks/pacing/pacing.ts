/**
 * Turns at a webhook's pace: the deliveries of one job hold consecutive turns, the i-th at
 * `at + i·every` (ms, this process's clock). Reserved together in Redis (PaceStore), they are
 * sent as their turns come, each turn's deliveries by a delayed job of their own, so waiting
 * for the pace spends no attempt and holds no worker slot.
 */
export interface Turns {
  at: number;
  every: number;
}

/**
 * How early a turn may be taken: half a turn's length, at most MAX_EARLY_MS. Bull wakes a
 * delayed job about on time, so at low paces each turn has a job of its own; at high paces
 * (over 1 / MAX_EARLY_MS per ms) the turns of MAX_EARLY_MS go together, which keeps the
 * jobs a pace costs to about ten a second whatever the rate.
 */
export const MAX_EARLY_MS = 50;

export function intervalMs(ratePerSecond: number): number {
  return 1000 / ratePerSecond;
}

export function earlyMs(t: Turns): number {
  return Math.min(MAX_EARLY_MS, t.every / 2);
}

/** How many of `count` deliveries holding `t` may go at `now`. */
export function dueNow(t: Turns, count: number, now: number): number {
  const k = Math.floor((now + earlyMs(t) - t.at) / t.every) + 1;
  return Math.max(0, Math.min(count, k));
}

/** The turns of the deliveries after the first `k`. */
export function after(t: Turns, k: number): Turns {
  return { at: t.at + k * t.every, every: t.every };
}

/** When the i-th holder's turn comes. */
export function turnAt(t: Turns, i: number): number {
  return t.at + i * t.every;
}
