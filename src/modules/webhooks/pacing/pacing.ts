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

/**
 * A turn that passed more than this long ago was missed (the job holding it came late: a
 * stalled or busy worker): its delivery takes a new turn rather than go together with the
 * turns that came since, so a late wake does not turn into a burst. Whatever its receiver
 * counts, a second then sees at most the rate plus what LATE_MS and MAX_EARLY_MS hold.
 */
export const LATE_MS = 100;

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

/**
 * How many of the first turns were missed (see LATE_MS). The last turn that came is taken
 * however late, so that a worker that is always late still sends something at every wake.
 */
export function missedCount(t: Turns, count: number, now: number): number {
  const due = dueNow(t, count, now);
  const missed = Math.max(0, Math.min(count, Math.ceil((now - LATE_MS - t.at) / t.every)));
  return due > 0 && missed >= due ? due - 1 : missed;
}
