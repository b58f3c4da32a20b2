import { createHash } from 'node:crypto';
import { inspectJson, stringProblem } from '../../../core/http/json-inspection';
import { canonicalUtcIso, parseTime, TIME_RANGE_ERROR } from '../../../core/http/times';

/** Pure validation and normalisation of a telemetry batch; no I/O, unit-tested beside. */

export const MAX_EVENTS = 5000;
export const MAX_EVENT_ID_LENGTH = 200;

export interface NormalizedReading {
  index: number;
  eventId: string;
  /** ISO-8601 UTC with milliseconds. */
  ts: string;
  data: Record<string, unknown>;
}

export interface RejectedEvent {
  index: number;
  field: string;
  error: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * JSON with object keys sorted at every level, so equal data hashes alike. Built with an
 * explicit stack of what is left to write, so no nesting can exhaust the call stack.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const todo: ({ text: string } | { value: unknown })[] = [{ value }];
  while (todo.length) {
    const next = todo.pop()!;
    if ('text' in next) {
      out.push(next.text);
      continue;
    }
    const v = next.value;
    if (Array.isArray(v)) {
      out.push('[');
      todo.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ value: v[i] });
        if (i > 0) todo.push({ text: ',' });
      }
    } else if (isPlainObject(v)) {
      const keys = Object.keys(v).sort();
      out.push('{');
      todo.push({ text: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        todo.push({ value: v[keys[i]] });
        todo.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
      }
    } else out.push(JSON.stringify(v) ?? 'null');
  }
  return out.join('');
}

/** The identity of a reading sent without event_id: a hash of its time and data. */
export function deriveEventId(ts: string, data: Record<string, unknown>): string {
  return `h:${createHash('sha256').update(ts).update('\n').update(canonicalJson(data)).digest('base64url')}`;
}

function parseEvent(raw: unknown, index: number): NormalizedReading | RejectedEvent {
  const reject = (field: string, error: string): RejectedEvent => ({ index, field, error });
  if (!isPlainObject(raw)) return reject(`events[${index}]`, 'event must be an object');
  if (raw.ts === undefined || raw.ts === null) return reject(`events[${index}].ts`, 'ts is required');
  let iso = typeof raw.ts === 'string' ? canonicalUtcIso(raw.ts) : null;
  if (iso !== null && (iso < '1970' || iso >= '3000')) return reject(`events[${index}].ts`, TIME_RANGE_ERROR);
  if (iso === null) {
    const ts = parseTime(raw.ts);
    if (typeof ts === 'string') return reject(`events[${index}].ts`, ts);
    iso = ts.toISOString();
  }
  if (!isPlainObject(raw.data)) return reject(`events[${index}].data`, 'data must be an object');
  // The limits of one event's data (docs/hostile-input.md), before anything walks it.
  const problem = inspectJson(raw.data, `events[${index}].data`);
  if (problem) return reject(problem.field, problem.message);
  let eventId: string;
  if (raw.event_id === undefined || raw.event_id === null) eventId = deriveEventId(iso, raw.data);
  else if (typeof raw.event_id !== 'string' || raw.event_id.trim() === '' || raw.event_id.length > MAX_EVENT_ID_LENGTH) {
    return reject(`events[${index}].event_id`, `event_id must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters`);
  } else if (stringProblem(raw.event_id)) {
    return reject(`events[${index}].event_id`, `event_id ${stringProblem(raw.event_id)}`);
  } else eventId = raw.event_id;
  return { index, eventId, ts: iso, data: raw.data };
}

/** Splits a batch into valid readings and per-event rejections, keeping the batch order. */
export function parseEvents(events: unknown[]): { readings: NormalizedReading[]; rejected: RejectedEvent[] } {
  const readings: NormalizedReading[] = [];
  const rejected: RejectedEvent[] = [];
  events.forEach((raw, i) => {
    const parsed = parseEvent(raw, i);
    if ('error' in parsed) rejected.push(parsed);
    else readings.push(parsed);
  });
  return { readings, rejected };
}
