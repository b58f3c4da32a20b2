/**
 * Which rollups a batch of readings changes, decided in JS before the writer's statement runs:
 * deltas for live data, and for a backfill deltas or marks, whichever the hour needs
 * (docs/analytics.md, "Keeping rollups exact").
 */

/** What of a reading the rollups need; the reading writer's rows have it. `ts` is ISO-8601 UTC. */
export interface RollupSourceRow {
  projectId: number;
  ts: string;
  data: Record<string, unknown>;
}

/** Whether a project's metric has rollups (RollupMetrics; absent: every metric has). */
export type HasRollups = (projectId: number, metric: string) => boolean;

/** A flush that touches more minutes than this of one (project, metric, hour) is a backfill of that hour. */
export const MAX_DELTA_MINUTES = 4;
/** A backfill of more values than this of one (project, metric, hour) in one flush marks the hour, whether it has rollups or not. */
export const MAX_SPREAD_VALUES = 1000;

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

/** Values each with the index of its hour in a list of hours, for unnest(): row `i` has `v` in the hour at index `k` (its metric is that hour's). */
export interface HourValues {
  i: number[];
  k: number[];
  v: number[];
}

/** A backfill's hours and their values: `singles` alone in their minute, `values` with others. */
export interface SpreadValues {
  hours: HourKeys;
  singles: HourValues;
  values: HourValues;
}

/**
 * How `rows` change rollups, per project, numeric metric and hour (docs/analytics.md): where
 * they fall in at most MAX_DELTA_MINUTES minutes of the hour, deltas of the numeric values read
 * here once, so the statement never looks into a payload: `values` where a minute has several
 * values of the metric (Postgres aggregates them), `singles` where it has one (a delta row of its
 * own, no aggregation: wide events, many distinct metrics). Over more minutes (a backfill), at
 * most MAX_SPREAD_VALUES values: `spread`, which the statement writes as deltas in the same way
 * where the hour has rollups and as a mark where it has none. More values than that: `marks`.
 * Metrics without rollups (`hasRollups`) change nothing. One pass over every row's keys:
 * linear in the values.
 */
export function rollupChanges(
  rows: readonly RollupSourceRow[],
  hasRollups?: HasRollups,
): { marks: HourKeys; values: MetricValues; singles: MetricValues; spread: SpreadValues } {
  type Entry = { p: number; m: string; h: string; n: number; minutes: Map<string, { rows: number[]; vals: number[] }> | null };
  const touched = new Map<string, Entry>();
  rows.forEach((row, i) => {
    const iso = typeof row.ts === 'string' && row.ts[13] === ':' ? row.ts : isoOrNull(row.ts);
    // A time that does not parse gets no rollups: Postgres refuses the row (see ReadingWriter).
    if (iso === null) return;
    const hour = iso.slice(0, 13);
    const minute = iso.slice(14, 16);
    for (const metric in row.data) {
      const value = row.data[metric];
      if (typeof value !== 'number' || !Number.isFinite(value) || (hasRollups && !hasRollups(row.projectId, metric))) continue;
      const key = `${row.projectId}|${hour}|${metric}`;
      let entry = touched.get(key);
      if (!entry) touched.set(key, (entry = { p: row.projectId, m: metric, h: hour, n: 0, minutes: new Map() }));
      if (!entry.minutes) continue;
      if (++entry.n > MAX_SPREAD_VALUES) {
        entry.minutes = null;
        continue;
      }
      let at = entry.minutes.get(minute);
      if (!at) entry.minutes.set(minute, (at = { rows: [], vals: [] }));
      at.rows.push(i);
      at.vals.push(value);
    }
  });
  const marks: HourKeys = { p: [], m: [], h: [] };
  const values: MetricValues = { i: [], m: [], v: [] };
  const singles: MetricValues = { i: [], m: [], v: [] };
  const spread: SpreadValues = { hours: { p: [], m: [], h: [] }, singles: { i: [], k: [], v: [] }, values: { i: [], k: [], v: [] } };
  const keyOf = (to: HourKeys, e: Entry) => {
    to.p.push(e.p);
    to.m.push(e.m);
    to.h.push(`${e.h}:00:00Z`);
    return to.p.length - 1;
  };
  for (const e of touched.values()) {
    if (!e.minutes) {
      keyOf(marks, e);
      continue;
    }
    if (e.minutes.size > MAX_DELTA_MINUTES) {
      const k = keyOf(spread.hours, e);
      for (const at of e.minutes.values()) {
        const to = at.rows.length === 1 ? spread.singles : spread.values;
        for (let x = 0; x < at.rows.length; x++) {
          to.i.push(at.rows[x]);
          to.k.push(k);
          to.v.push(at.vals[x]);
        }
      }
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
  return { marks, values, singles, spread };
}
