import { createHash } from 'node:crypto';
import { inspectJson, stringProblem } from '../../../core/http/json-inspection';

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

// ISO-8601 date-time, optional seconds and fraction, optional offset (none means UTC).
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
// Times from 1970 up to year 3000, in every form: a Unix time beyond is a unit mistake (ms or µs).
const MAX_UNIX_SECONDS = 32_503_680_000;
const TIME_RANGE_ERROR = 'ts must lie between 1970 and 3000';
const inTimeRange = (ms: number) => ms >= 0 && ms < MAX_UNIX_SECONDS * 1000;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether YYYY-MM-DD names a real day: `Date` would roll Feb 30 over to Mar 2 without a word. */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Where `YYYY-MM-DDTHH:MM:SS` has its digits. */
const CANONICAL_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
const isDigit = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
};
const num = (s: string, from: number, to: number) => {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
};

/**
 * The ISO string of `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z` (the form clients send most), read by hand,
 * or null for anything else (which the general parser then reads). Date's own string parser
 * was a fifth of the api's CPU under batch ingestion. Gives exactly what
 * `new Date(s).toISOString()` gives, and null for a day or time that does not exist.
 */
export function canonicalUtcIso(s: string): string | null {
  const n = s.length;
  if ((n !== 20 && (n < 22 || n > 24)) || s.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':' || (n > 20 && s[19] !== '.')) return null;
  for (const i of CANONICAL_DIGITS) if (!isDigit(s, i)) return null;
  for (let i = 20; i < n - 1; i++) if (!isDigit(s, i)) return null;
  const year = num(s, 0, 4);
  const month = num(s, 5, 7);
  const day = num(s, 8, 10);
  // Years below 100 would need Date's two-digit-year rules; the general parser takes them.
  if (year < 100 || month < 1 || month > 12 || day < 1) return null;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])) return null;
  if (num(s, 11, 13) > 23 || num(s, 14, 16) > 59 || num(s, 17, 19) > 59) return null;
  if (n === 24) return s;
  return `${s.slice(0, 19)}.${n === 20 ? '000' : s.slice(20, n - 1).padEnd(3, '0')}Z`;
}

/** Parses an input time: ISO-8601 with or without offset (none = UTC), or Unix seconds. */
export function parseTime(value: unknown): Date | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !inTimeRange(value * 1000)) {
      return 'ts as a number must be Unix seconds between 1970 and 3000';
    }
    return new Date(Math.round(value * 1000));
  }
  if (typeof value !== 'string') return 'ts must be an ISO-8601 time or Unix seconds';
  const canonical = canonicalUtcIso(value);
  if (canonical !== null) {
    const d = new Date(canonical);
    return inTimeRange(d.getTime()) ? d : TIME_RANGE_ERROR;
  }
  const s = value.trim();
  let iso: string;
  if (ISO_DATE.test(s)) iso = `${s}T00:00:00Z`;
  else {
    const m = ISO_TIME.exec(s);
    if (!m) return 'ts must be an ISO-8601 time or Unix seconds';
    let offset = m[3] ?? 'Z';
    if (/^[+-]\d{2}$/.test(offset)) offset += ':00';
    else if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
    const time = m[2].replace(/(\.\d{3})\d+$/, '$1');
    iso = `${m[1]}T${time}${offset.toUpperCase()}`;
  }
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || !isCalendarDate(iso.slice(0, 10))) return 'ts is not a valid time';
  if (!inTimeRange(d.getTime())) return TIME_RANGE_ERROR;
  return d;
}

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
