/** Pure k-of-n evaluation: no I/O, one spec per scenario beside it. */

export type Operator = '>' | '>=' | '<' | '<=';
export const OPERATORS: readonly Operator[] = ['>', '>=', '<', '<='];

export interface RuleCondition {
  metric: string;
  operator: Operator;
  threshold: number;
  window_n: number;
  required_k: number;
}

export interface WindowReading {
  ts: Date;
  payload: Record<string, unknown>;
}

export interface Evaluation {
  holds: boolean;
  match_count: number;
  considered: number;
  /** The metric in the newest reading of the window, when it is a number. */
  latest_value: number | null;
  latest_ts: string | null;
}

const COMPARE: Record<Operator, (v: number, t: number) => boolean> = {
  '>': (v, t) => v > t,
  '>=': (v, t) => v >= t,
  '<': (v, t) => v < t,
  '<=': (v, t) => v <= t,
};

/** A number in the payload, or null: booleans, strings, null and absence are not numbers. */
export function numericValue(payload: Record<string, unknown>, metric: string): number | null {
  const v = payload[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * `newestFirst` is the device's latest readings by (ts, id) descending, at least window_n of
 * them when the device has that many. Non-numeric readings occupy a slot and do not match; the
 * condition holds only when the window is full and at least required_k readings match.
 */
export function evaluate(rule: RuleCondition, newestFirst: readonly WindowReading[]): Evaluation {
  const window = newestFirst.slice(0, rule.window_n);
  const compare = COMPARE[rule.operator];
  let matches = 0;
  for (const r of window) {
    const v = numericValue(r.payload, rule.metric);
    if (v !== null && compare(v, rule.threshold)) matches++;
  }
  const newest = window[0];
  return {
    holds: window.length >= rule.window_n && matches >= rule.required_k,
    match_count: matches,
    considered: window.length,
    latest_value: newest ? numericValue(newest.payload, rule.metric) : null,
    latest_ts: newest ? newest.ts.toISOString() : null,
  };
}
