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
