/**
 * k-of-n: "metric <operator> threshold in at least required_k of the device's newest window_n
 * readings". The counting runs in Postgres (WindowCountsRepository: a 10,000-reading window
 * is a few numbers, not 10,000 values to parse on the worker's event loop); what the counts
 * mean is decided here, without I/O.
 */

export type Operator = '>' | '>=' | '<' | '<=';
export const OPERATORS: readonly Operator[] = ['>', '>=', '<', '<='];

/** What is counted over a device's newest window_n readings (by ts, then id, descending). */
export interface WindowCondition {
  metric: string;
  operator: Operator;
  threshold: number;
  window_n: number;
}

export interface RuleCondition extends WindowCondition {
  required_k: number;
}

/**
 * The count of a WindowCondition. A reading matches when its metric is a JSON number (not a
 * boolean, a string, null or absent) that compares true with the threshold in float8, as
 * JavaScript numbers compare; a reading that does not match still occupies its slot.
 */
export interface WindowCount {
  match_count: number;
  /** Readings in the window: window_n, or fewer while the device has fewer. */
  considered: number;
  /** The metric in the device's newest reading, when it is a number. */
  latest_value: number | null;
  latest_ts: string | null;
}

export interface Evaluation extends WindowCount {
  holds: boolean;
}

/** The condition holds only when the window is full and at least required_k readings match. */
export function verdict(rule: RuleCondition, count: WindowCount): Evaluation {
  return { holds: count.considered >= rule.window_n && count.match_count >= rule.required_k, ...count };
}

/** One key per distinct WindowCondition, so rules that count the same thing share one count. */
export const conditionKey = (c: WindowCondition) => JSON.stringify([c.metric, c.operator, c.threshold, c.window_n]);
