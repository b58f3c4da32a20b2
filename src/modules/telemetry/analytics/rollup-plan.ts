import type { ReadingRow } from '../readings.repository';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Half-open [from, to) in epoch milliseconds; empty when from >= to. */
export interface Span {
  from: number;
  to: number;
}

/**
 * How a query over readings with from <= ts <= to splits into rollups and raw readings:
 * hour rows with start in `hours`, minute rows with start in either of `minutes`, and the
 * readings themselves in either of `raw` (the partial minutes at the edges). The pieces are
 * disjoint and cover the range exactly. `refresh` is the whole hours whose rollups are read.
 */
export interface RollupPlan {
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
  if (m0 >= m1) {
    return { hours: EMPTY(fromMs), minutes: [EMPTY(fromMs), EMPTY(fromMs)], raw: [{ from: fromMs, to: end }, EMPTY(end)], refresh: EMPTY(fromMs) };
  }
  const raw: [Span, Span] = [{ from: fromMs, to: m0 }, { from: m1, to: end }];
  const refresh = { from: floorTo(m0, HOUR_MS), to: ceilTo(m1, HOUR_MS) };
  const h0 = ceilTo(m0, HOUR_MS);
  const h1 = floorTo(m1, HOUR_MS);
  if (!useHours || h0 >= h1) return { hours: EMPTY(m0), minutes: [{ from: m0, to: m1 }, EMPTY(m1)], raw, refresh };
  return { hours: { from: h0, to: h1 }, minutes: [{ from: m0, to: h0 }, { from: h1, to: m1 }], raw, refresh };
}

/** The hours [from, to) as epoch milliseconds. */
export function hoursOf(span: Span): number[] {
  const out: number[] = [];
  for (let h = span.from; h < span.to; h += HOUR_MS) out.push(h);
  return out;
}

/**
 * The (project, metric, hour) of every numeric value in `rows`, once each: the hours whose
 * rollups these readings change (see migration 1764000000004). `ts` is ISO-8601 UTC.
 */
export function rollupMarks(rows: readonly ReadingRow[]): { p: number[]; m: string[]; h: string[] } {
  const seen = new Set<string>();
  const out = { p: [] as number[], m: [] as string[], h: [] as string[] };
  for (const row of rows) {
    const hour = row.ts[13] === ':' ? row.ts.slice(0, 13) : new Date(row.ts).toISOString().slice(0, 13);
    for (const metric in row.data) {
      if (typeof row.data[metric] !== 'number') continue;
      const key = `${row.projectId}|${hour}|${metric}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.p.push(row.projectId);
      out.m.push(metric);
      out.h.push(`${hour}:00:00Z`);
    }
  }
  return out;
}
