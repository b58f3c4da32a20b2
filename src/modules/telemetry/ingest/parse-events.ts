import { createHash } from 'node:crypto';

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
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
// Unix seconds from 1970 up to year 3000: anything beyond is a unit mistake (ms or µs).
const MAX_UNIX_SECONDS = 32_503_680_000;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether YYYY-MM-DD names a real day: `Date` would roll Feb 30 over to Mar 2 without a word. */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** Parses an input time: ISO-8601 with or without offset (none = UTC), or Unix seconds. */
export function parseTime(value: unknown): Date | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > MAX_UNIX_SECONDS) {
      return 'ts as a number must be Unix seconds between 1970 and 3000';
    }
    return new Date(Math.round(value * 1000));
  }
  if (typeof value !== 'string') return 'ts must be an ISO-8601 time or Unix seconds';
  // Fast path for the common, fully specified UTC form; a rolled-over day (Feb 30) shows as a
  // different date in the round trip and falls through to the full check below.
  if (CANONICAL_UTC.test(value)) {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value.slice(0, 10)) return d;
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
  return d;
}

/** JSON with object keys sorted at every level, so equal data hashes alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The identity of a reading sent without event_id: a hash of its time and data. */
export function deriveEventId(ts: string, data: Record<string, unknown>): string {
  return `h:${createHash('sha256').update(ts).update('\n').update(canonicalJson(data)).digest('base64url')}`;
}

function parseEvent(raw: unknown, index: number): NormalizedReading | RejectedEvent {
  const reject = (field: string, error: string): RejectedEvent => ({ index, field, error });
  if (!isPlainObject(raw)) return reject(`events[${index}]`, 'event must be an object');
  if (raw.ts === undefined || raw.ts === null) return reject(`events[${index}].ts`, 'ts is required');
  const ts = parseTime(raw.ts);
  if (typeof ts === 'string') return reject(`events[${index}].ts`, ts);
  if (!isPlainObject(raw.data)) return reject(`events[${index}].data`, 'data must be an object');
  const iso = ts.toISOString();
  let eventId: string;
  if (raw.event_id === undefined || raw.event_id === null) eventId = deriveEventId(iso, raw.data);
  else if (typeof raw.event_id !== 'string' || raw.event_id.trim() === '' || raw.event_id.length > MAX_EVENT_ID_LENGTH) {
    return reject(`events[${index}].event_id`, `event_id must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters`);
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
