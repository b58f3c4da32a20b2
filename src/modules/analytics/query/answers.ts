/** What a metric query asks, and the rows aggregate and stats answer with (routes: DESIGN.md). */

export interface MetricFilter {
  metric: string;
  from: Date;
  to: Date;
  deviceId?: number;
  tag?: string;
}

export interface Bucket {
  start: Date;
  count: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
}

export interface Stats {
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  unique_devices: number;
}
