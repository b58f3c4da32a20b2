import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ValidationError } from '../errors/app-error';

/**
 * Times as the API takes them, in an event's `ts` and in query parameters alike: ISO-8601 with
 * or without offset (none = UTC), or Unix seconds, from 1970 up to year 3000.
 */

// ISO-8601 date-time, optional seconds and fraction, optional offset (none means UTC).
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
// Times from 1970 up to year 3000, in every form: a Unix time beyond is a unit mistake (ms or µs).
const MAX_UNIX_SECONDS = 32_503_680_000;
export const TIME_RANGE_ERROR = 'ts must lie between 1970 and 3000';
const inTimeRange = (ms: number) => ms >= 0 && ms < MAX_UNIX_SECONDS * 1000;

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

/** `from` and `to` query parameters (see `timeRange`). */
export class TimeRangeQuery {
  /** ISO-8601 or Unix seconds. */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  from?: string;

  @IsOptional()
  @IsString()
  @MaxLength(40)
  to?: string;
}

/** A query time (`from`, `to`, `since_ts`): ISO-8601 or Unix seconds, as for ingestion; a bad one is a 422 naming `field`. */
export function queryTime(field: string, raw: string | undefined): Date | null {
  if (raw === undefined || raw === '') return null;
  const parsed = parseTime(/^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw);
  if (typeof parsed === 'string') throw ValidationError.field(field, parsed.replace(/^ts/, field));
  return parsed;
}

/** `from` and `to` of a query, either absent; `from` after `to` is a 422. */
export function timeRange(q: TimeRangeQuery): { from: Date | null; to: Date | null } {
  const from = queryTime('from', q.from);
  const to = queryTime('to', q.to);
  if (from && to && from > to) throw ValidationError.field('from', 'from must not be after to');
  return { from, to };
}
