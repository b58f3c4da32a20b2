/**
 * Pure timing of the two timer-driven conditions (docs/rules.md): a no-data rule's silence
 * and a threshold rule's for_seconds. No I/O; the evaluation applies them under the device lock.
 */

const plus = (d: Date, seconds: number) => new Date(d.getTime() + seconds * 1000);

export interface SilenceClock {
  /** Latest of: last arrival of a reading carrying the metric, device creation, came under the rule. */
  clockAt: Date;
  lastReadingAt: Date | null;
}

export interface Silence {
  silent: boolean;
  /** When the silence becomes an alert: clockAt + no_data_seconds. */
  deadline: Date;
  /** Seconds since the last reading (since the clock started when none is known). */
  silentSeconds: number;
}

export function silence(clock: SilenceClock, noDataSeconds: number, now: Date): Silence {
  const deadline = plus(clock.clockAt, noDataSeconds);
  const since = clock.lastReadingAt ?? clock.clockAt;
  return {
    silent: now.getTime() >= deadline.getTime(),
    deadline,
    silentSeconds: Math.max(0, Math.floor((now.getTime() - since.getTime()) / 1000)),
  };
}

export interface Sustained {
  /** The condition has held at every evaluation for for_seconds. */
  holds: boolean;
  /** Start of the pending period to keep, or null when nothing is pending. */
  pendingSince: Date | null;
  /** When the pending condition will have held long enough. */
  dueAt: Date | null;
}

/**
 * for_seconds: the k-of-n condition must hold from the first evaluation that found it holding
 * (`pendingSince`) for `forSeconds`; an evaluation that finds it false ends the pending period.
 */
export function sustained(holdsNow: boolean, pendingSince: Date | null, forSeconds: number, now: Date): Sustained {
  if (!holdsNow) return { holds: false, pendingSince: null, dueAt: null };
  if (forSeconds === 0) return { holds: true, pendingSince: null, dueAt: null };
  const since = pendingSince ?? now;
  const dueAt = plus(since, forSeconds);
  return { holds: now.getTime() >= dueAt.getTime(), pendingSince: since, dueAt };
}

/**
 * When a timer must look at a pair again, after the evaluation decided: never while an alert
 * is open (only data changes that); at the moment the condition comes due; and when it holds
 * but the cooldown since the last trigger still runs, when the cooldown ends.
 */
export function nextCheck(o: {
  openAfter: boolean;
  holds: boolean;
  conditionDue: Date;
  lastTriggeredAt: Date | null;
  cooldownSeconds: number;
}): Date | null {
  if (o.openAfter) return null;
  if (!o.holds || !o.lastTriggeredAt) return o.conditionDue;
  const cooled = plus(o.lastTriggeredAt, o.cooldownSeconds);
  return cooled > o.conditionDue ? cooled : o.conditionDue;
}
