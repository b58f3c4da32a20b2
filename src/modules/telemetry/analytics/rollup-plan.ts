import type { ReadingRow } from '../reading-row';

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

/** A flush that touches more minutes than this of one (project, metric, hour) marks the hour instead of writing deltas. */
export const MAX_DELTA_MINUTES = 4;

/** (project, metric, hour) triples as parallel arrays, for unnest(); hours are ISO-8601. */
export interface HourKeys {
  p: number[];
  m: string[];
  h: string[];
}

const isoOrNull = (ts: unknown): string | null => {
  const d = new Date(ts as string);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
};

/** Numeric values as parallel arrays, for unnest(): row `i` (its index in the rows given) has `v` at metric `m`. */
export interface MetricValues {
  i: number[];
  m: string[];
  v: number[];
}

/**
 * How `rows` change rollups (see migration 1764000000004), per project, numeric metric and
 * hour: where they fall in at most MAX_DELTA_MINUTES minutes of the hour, the writer adds the
 * minute rollups of what it inserted, from the numeric values read here once (so the
 * statement never looks into a payload): `values` where a minute has several values of the
 * metric (Postgres aggregates them), `singles` where it has one (a delta row of its own, no
 * aggregation: the case of wide events and of many distinct metrics). Where they fall in
 * more minutes, `marks` (the hour is rebuilt from the readings). One pass over every row's
 * keys: linear in the values. `ts` is ISO-8601 UTC.
 */
export function rollupChanges(rows: readonly ReadingRow[]): { marks: HourKeys; values: MetricValues; singles: MetricValues } {
  type Entry = { p: number; m: string; h: string; minutes: Map<string, { rows: number[]; vals: number[] }> | null };
  const touched = new Map<string, Entry>();
  rows.forEach((row, i) => {
    const iso = typeof row.ts === 'string' && row.ts[13] === ':' ? row.ts : isoOrNull(row.ts);
    // A time that does not parse gets no rollups: Postgres refuses the row (see ReadingWriter).
    if (iso === null) return;
    const hour = iso.slice(0, 13);
    const minute = iso.slice(14, 16);
    for (const metric in row.data) {
      const value = row.data[metric];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const key = `${row.projectId}|${hour}|${metric}`;
      let entry = touched.get(key);
      if (!entry) touched.set(key, (entry = { p: row.projectId, m: metric, h: hour, minutes: new Map() }));
      if (!entry.minutes) continue;
      let at = entry.minutes.get(minute);
      if (!at) {
        if (entry.minutes.size === MAX_DELTA_MINUTES) {
          entry.minutes = null;
          continue;
        }
        entry.minutes.set(minute, (at = { rows: [], vals: [] }));
      }
      at.rows.push(i);
      at.vals.push(value);
    }
  });
  const marks: HourKeys = { p: [], m: [], h: [] };
  const values: MetricValues = { i: [], m: [], v: [] };
  const singles: MetricValues = { i: [], m: [], v: [] };
  for (const e of touched.values()) {
    if (!e.minutes) {
      marks.p.push(e.p);
      marks.m.push(e.m);
      marks.h.push(`${e.h}:00:00Z`);
      continue;
    }
    for (const at of e.minutes.values()) {
      const to = at.rows.length === 1 ? singles : values;
      for (let k = 0; k < at.rows.length; k++) {
        to.i.push(at.rows[k]);
        to.m.push(e.m);
        to.v.push(at.vals[k]);
      }
    }
  }
  return { marks, values, singles };
}
