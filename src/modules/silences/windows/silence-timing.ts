import { DAY_MS, Interval, Recurrence, windowsBetween } from './recurrence';

export type SilenceState = 'pending' | 'active' | 'expired';

/** When a silence applies: one span [startsAt, endsAt), or a recurrence bounded by them. */
export interface SilenceTiming {
  startsAt: number;
  endsAt: number | null;
  recurrence: Recurrence | null;
}

// Every listed weekday comes round within a week (a day more for a daylight-saving change).
const WEEK_AHEAD = 8 * DAY_MS;

/** The silence's active spans that overlap [from, to), each clipped to the silence's bounds only. */
export function activeSpans(t: SilenceTiming, from: number, to: number): Interval[] {
  const lo = Math.max(from, t.startsAt);
  const hi = t.endsAt === null ? to : Math.min(to, t.endsAt);
  if (lo >= hi) return [];
  if (!t.recurrence) return [{ start: t.startsAt, end: t.endsAt ?? Infinity }];
  return windowsBetween(t.recurrence, lo, hi)
    .map((w) => ({ start: Math.max(w.start, t.startsAt), end: t.endsAt === null ? w.end : Math.min(w.end, t.endsAt) }))
    .filter((w) => w.end > w.start);
}

/** pending, active or expired at `now`; a recurring silence between its windows is pending. */
export function stateAt(t: SilenceTiming, now: number): SilenceState {
  if (t.endsAt !== null && now >= t.endsAt) return 'expired';
  if (!t.recurrence) return now >= t.startsAt ? 'active' : 'pending';
  const spans = activeSpans(t, now, Math.max(now, t.startsAt) + WEEK_AHEAD);
  if (spans.some((s) => s.start <= now && now < s.end)) return 'active';
  return spans.some((s) => s.start > now) ? 'pending' : 'expired';
}

/** The first moment from `now` on that no span covers (`now` itself when none does). */
export function coveredUntil(spans: readonly Interval[], now: number): number {
  let t = now;
  for (let moved = true; moved; ) {
    moved = false;
    for (const s of spans) {
      if (s.start <= t && t < s.end) {
        t = s.end;
        moved = true;
      }
    }
  }
  return t;
}
