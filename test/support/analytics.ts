/**
 * What `aggregate` and `stats` should answer, computed from the readings a suite sent: the
 * reference the analytics suites hold the API to.
 */

/** A value a suite stored: only numbers count in analytics. */
export interface Sent {
  deviceId: number;
  ms: number;
  value: unknown;
}

const iso = (ms: number) => new Date(ms).toISOString();

const numeric = (rows: Sent[], from: number, to: number, deviceIds?: number[]) =>
  rows.filter(
    (r): r is Sent & { value: number } =>
      typeof r.value === 'number' && r.ms >= from && r.ms <= to && (!deviceIds || deviceIds.includes(r.deviceId)),
  );

/** Buckets aligned to the epoch, only those with readings, from <= ms <= to. */
export function expectedBuckets(rows: Sent[], intervalSeconds: number, from: number, to: number, deviceIds?: number[]) {
  const byStart = new Map<number, number[]>();
  for (const r of numeric(rows, from, to, deviceIds)) {
    const start = Math.floor(r.ms / 1000 / intervalSeconds) * intervalSeconds * 1000;
    byStart.set(start, [...(byStart.get(start) ?? []), r.value]);
  }
  return [...byStart.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, values]) => {
      const sum = values.reduce((a, b) => a + b, 0);
      return { start: iso(start), count: values.length, sum, avg: sum / values.length, min: Math.min(...values), max: Math.max(...values) };
    });
}

/** Nearest rank: sort ascending, take the value at index ceil(p*N)-1. */
const nearestRank = (sorted: number[], p: number) => sorted[Math.ceil(p * sorted.length) - 1];

export function expectedStats(rows: Sent[], from: number, to: number, deviceIds?: number[]) {
  const kept = numeric(rows, from, to, deviceIds);
  const values = kept.map((r) => r.value).sort((a, b) => a - b);
  if (!values.length) return { count: 0, min: null, max: null, mean: null, p50: null, p95: null, p99: null, unique_devices: 0 };
  return {
    count: values.length,
    min: values[0],
    max: values[values.length - 1],
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p50: nearestRank(values, 0.5),
    p95: nearestRank(values, 0.95),
    p99: nearestRank(values, 0.99),
    unique_devices: new Set(kept.map((r) => r.deviceId)).size,
  };
}

/**
 * Holds a stats answer to `expectedStats`: every field exactly but the mean, which is held to
 * nine decimals. A mean of values that are not multiples of a power of two depends on the order
 * they are summed in, and Postgres sums in scan order (a device's readings first, or another's).
 */
export function expectStatsEqual(actual: Record<string, unknown>, expected: ReturnType<typeof expectedStats>) {
  const { mean, ...exact } = expected;
  expect(actual).toEqual({ ...exact, mean: mean === null ? null : expect.any(Number) });
  if (mean !== null) expect(actual.mean).toBeCloseTo(mean, 9);
}

/** A rollup row as stored (metric_rollups or metric_rollup_deltas), in plain JS values. */
export interface RollupRow {
  start: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  vals: number[];
  cnts: number[];
  devices: number[];
  dcnts: number[];
  dfirst: string[];
  dlast: string[];
}

/**
 * The rollup rows of `spanSeconds` (60 or 3600) that the readings give, computed here from the
 * numbers sent: count, sum, min, max, the value histogram and the devices with their counts and
 * first and last event times (docs/analytics.md). Only buckets with numbers, by start.
 */
export function expectedRollups(rows: Sent[], spanSeconds: number): RollupRow[] {
  const byStart = new Map<number, (Sent & { value: number })[]>();
  for (const r of rows) {
    if (typeof r.value !== 'number') continue;
    const start = Math.floor(r.ms / 1000 / spanSeconds) * spanSeconds * 1000;
    byStart.set(start, [...(byStart.get(start) ?? []), r as Sent & { value: number }]);
  }
  return [...byStart.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, values]) => {
      const vals = [...new Set(values.map((v) => v.value))].sort((a, b) => a - b);
      const devices = [...new Set(values.map((v) => v.deviceId))].sort((a, b) => a - b);
      const of = (d: number) => values.filter((v) => v.deviceId === d).map((v) => v.ms);
      return {
        start: iso(start),
        count: values.length,
        sum: values.reduce((a, v) => a + v.value, 0),
        min: vals[0],
        max: vals[vals.length - 1],
        vals,
        cnts: vals.map((x) => values.filter((v) => v.value === x).length),
        devices,
        dcnts: devices.map((d) => of(d).length),
        dfirst: devices.map((d) => iso(Math.min(...of(d)))),
        dlast: devices.map((d) => iso(Math.max(...of(d)))),
      };
    });
}

/** A stored rollup row (bigints arrive as strings, times as Dates) as a RollupRow. */
export function toRollupRow(r: Record<string, unknown>): RollupRow {
  const nums = (a: unknown) => (a as unknown[]).map(Number);
  const times = (a: unknown) => (a as unknown[]).map((t) => new Date(t as string).toISOString());
  return {
    start: new Date(r.start as string).toISOString(),
    count: Number(r.count),
    sum: Number(r.sum),
    min: Number(r.min),
    max: Number(r.max),
    vals: nums(r.vals),
    cnts: nums(r.cnts),
    devices: nums(r.devices),
    dcnts: nums(r.dcnts),
    dfirst: times(r.dfirst),
    dlast: times(r.dlast),
  };
}

/** Rows of one start merged into one, as a catch-up merges deltas into their minute. */
export function mergeRollups(rows: RollupRow[]): RollupRow[] {
  const byStart = new Map<string, RollupRow[]>();
  for (const r of rows) byStart.set(r.start, [...(byStart.get(r.start) ?? []), r]);
  return [...byStart.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([start, parts]) => {
      const hist = new Map<number, number>();
      const devs = new Map<number, { c: number; f: string; l: string }>();
      for (const p of parts) {
        p.vals.forEach((v, i) => hist.set(v, (hist.get(v) ?? 0) + p.cnts[i]));
        p.devices.forEach((d, i) => {
          const had = devs.get(d);
          const [f, l] = [p.dfirst[i], p.dlast[i]];
          devs.set(d, had ? { c: had.c + p.dcnts[i], f: had.f < f ? had.f : f, l: had.l > l ? had.l : l } : { c: p.dcnts[i], f, l });
        });
      }
      const vals = [...hist.keys()].sort((a, b) => a - b);
      const devices = [...devs.keys()].sort((a, b) => a - b);
      return {
        start,
        count: parts.reduce((n, p) => n + p.count, 0),
        sum: parts.reduce((n, p) => n + p.sum, 0),
        min: Math.min(...parts.map((p) => p.min)),
        max: Math.max(...parts.map((p) => p.max)),
        vals,
        cnts: vals.map((v) => hist.get(v)!),
        devices,
        dcnts: devices.map((d) => devs.get(d)!.c),
        dfirst: devices.map((d) => devs.get(d)!.f),
        dlast: devices.map((d) => devs.get(d)!.l),
      };
    });
}
