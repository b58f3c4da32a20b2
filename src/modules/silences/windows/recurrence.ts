/**
 * Recurring maintenance windows in an IANA time zone: pure time math, no I/O. Node's `Intl`
 * knows the zones and their daylight-saving rules; nothing here keeps a table of its own.
 * How a window behaves on the days a change skips or repeats its start: docs/silences.md.
 */

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof DAYS)[number];

export interface Recurrence {
  days: Day[];
  /** Local wall-clock time "HH:MM". */
  start: string;
  duration_minutes: number;
  timezone: string;
}

/** A half-open span of time [start, end), in ms since the epoch. */
export interface Interval {
  start: number;
  end: number;
}

export const MINUTE = 60_000;
export const DAY_MS = 86_400_000;
export const START_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)$/;
// Zone names start with a letter: offsets such as "+05:30" are not IANA names.
const ZONE_PATTERN = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether `Intl` knows the zone (IANA names and their aliases, in any letter case). */
export function isTimeZone(name: string): boolean {
  if (!ZONE_PATTERN.test(name)) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/** The zone's wall clock at instant `t`, read as if it were UTC (ms). */
function wallClock(zone: string, t: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
}

function exactOffset(zone: string, t: number): number {
  const whole = Math.floor(t / 1000) * 1000;
  return wallClock(zone, whole) - whole;
}

/**
 * Offsets by zone and span of time. Asking Intl is slow (a formatToParts each), and windows
 * ask about the same days again and again. A span whose first and last second have the same
 * offset has it throughout, provided no zone changes its clock twice within the span: true of
 * six hours and of a quarter hour. A six-hour span that contains a change is looked at by the
 * quarter hour, and a quarter hour that contains one is asked exactly.
 */
const SPANS = [6 * 3_600_000, 15 * 60_000];
const MIXED = Number.NaN;
const known = new Map<string, number>();
const MAX_KNOWN = 100_000;

/** The zone's offset from UTC at instant `t` (ms, east positive). */
export function offsetAt(zone: string, t: number): number {
  for (const size of SPANS) {
    const n = Math.floor(t / size);
    const key = `${zone}|${size}|${n}`;
    let offset = known.get(key);
    if (offset === undefined) {
      const first = exactOffset(zone, n * size);
      offset = first === exactOffset(zone, (n + 1) * size - 1000) ? first : MIXED;
      if (known.size >= MAX_KNOWN) known.clear();
      known.set(key, offset);
    }
    if (!Number.isNaN(offset)) return offset;
  }
  return exactOffset(zone, t);
}

function localDateOf(zone: string, t: number): LocalDate {
  const d = new Date(t + offsetAt(zone, t));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The instant a local wall-clock time happens in `zone`. A time the zone skips (clocks go
 * forward) begins at the first valid minute after it, the moment of the change; a time it
 * repeats (clocks go back) is taken at its first occurrence.
 */
export function localToInstant(zone: string, date: LocalDate, hour: number, minute: number): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  // At most one change lies within a day of any wall time, in every zone Intl knows today.
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  const valid = [...new Set([wall - before, wall - after])].filter((t) => t + offsetAt(zone, t) === wall);
  if (valid.length) return Math.min(...valid);
  // Skipped: the change happened at some T with wall ∈ [T + before, T + after); find T.
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > MINUTE) {
    const mid = lo + Math.max(MINUTE, Math.floor((hi - lo) / 2 / MINUTE) * MINUTE);
    if (offsetAt(zone, mid) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

const addDays = (d: LocalDate, n: number): LocalDate => {
  const x = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return { year: x.getUTCFullYear(), month: x.getUTCMonth() + 1, day: x.getUTCDate() };
};
const weekday = (d: LocalDate): Day => DAYS[new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay()];

/**
 * The recurrence's windows that overlap [from, to), oldest first. A window belongs to the
 * local day it starts on and lasts `duration_minutes` of real time from its start.
 */
export function windowsBetween(r: Recurrence, from: number, to: number): Interval[] {
  const [hour, minute] = r.start.split(':').map(Number);
  const length = r.duration_minutes * MINUTE;
  const days = new Set(r.days);
  const out: Interval[] = [];
  const last = localDateOf(r.timezone, to);
  const lastKey = Date.UTC(last.year, last.month - 1, last.day);
  // A window that started up to `length` (≤ 1 day) before `from` may still be open.
  for (let d = addDays(localDateOf(r.timezone, from - length), -1); Date.UTC(d.year, d.month - 1, d.day) <= lastKey; d = addDays(d, 1)) {
    if (!days.has(weekday(d))) continue;
    const start = localToInstant(r.timezone, d, hour, minute);
    const end = start + length;
    if (end > from && start < to) out.push({ start, end });
  }
  return out;
}
