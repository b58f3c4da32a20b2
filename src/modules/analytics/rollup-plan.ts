export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Half-open [from, to) in epoch milliseconds; empty when from >= to. */
export interface Span {
  from: number;
  to: number;
}

/**
 * How a query over readings with from <= ts <= to (`range`, as [from, to + 1 ms)) splits into
 * rollups and raw readings: hour rows with start in `hours`, minute rows with start in either
 * of `minutes`, and the readings themselves in either of `raw` (the partial minutes at the
 * edges). The pieces are disjoint and cover the range exactly. `refresh` is the whole hours
 * whose rollups must be current: every row the plan reads, and the edge minutes (a minute
 * whose readings all lie in the range may stand in for its raw edge).
 */
export interface RollupPlan {
  range: Span;
  hours: Span;
  minutes: [Span, Span];
  raw: [Span, Span];
  refresh: Span;
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;
const EMPTY = (at: number): Span => ({ from: at, to: at });

export const isEmpty = (s: Span) => s.from >= s.to;

/**
 * `useHours` is false when hour rows would straddle the caller's buckets (an aggregate
 * interval that is not a whole number of hours). Event times have millisecond precision, so
 * "ts <= to" is "ts < to + 1 ms".
 */
export function planRollups(fromMs: number, toMs: number, useHours: boolean): RollupPlan {
  const end = toMs + 1;
  const m0 = ceilTo(fromMs, MINUTE_MS);
  const m1 = floorTo(end, MINUTE_MS);
  const range = { from: fromMs, to: end };
  if (m0 >= m1) {
    return { range, hours: EMPTY(fromMs), minutes: [EMPTY(fromMs), EMPTY(fromMs)], raw: [range, EMPTY(end)], refresh: EMPTY(fromMs) };
  }
  const raw: [Span, Span] = [{ from: fromMs, to: m0 }, { from: m1, to: end }];
  const refresh = { from: floorTo(fromMs, HOUR_MS), to: ceilTo(end, HOUR_MS) };
  const h0 = ceilTo(m0, HOUR_MS);
  const h1 = floorTo(m1, HOUR_MS);
  if (!useHours || h0 >= h1) return { range, hours: EMPTY(m0), minutes: [{ from: m0, to: m1 }, EMPTY(m1)], raw, refresh };
  return { range, hours: { from: h0, to: h1 }, minutes: [{ from: m0, to: h0 }, { from: h1, to: m1 }], raw, refresh };
}

/** The spans in ascending order, adjacent ones joined (they must not overlap). */
export function mergeSpans(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const s of [...spans].sort((a, b) => a.from - b.from)) {
    const last = out[out.length - 1];
    if (last && last.to === s.from) last.to = s.to;
    else out.push({ ...s });
  }
  return out;
}

/** The hours [from, to) as epoch milliseconds. */
export function hoursOf(span: Span): number[] {
  const out: number[] = [];
  for (let h = span.from; h < span.to; h += HOUR_MS) out.push(h);
  return out;
}
