/** Formatting and small decisions the pages share; pure, unit-tested. */

/** `2026-12-05 19:20:58` in UTC (times are shown in UTC, as the API gives them), or `—`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; `never` for null. */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Up to 4 significant decimals, thousands grouped; `—` for null. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) >= 100 ? 1 : 4 });
}

/** The aggregate intervals the console uses (the API takes 10s…1d). */
export const INTERVALS: readonly [string, number][] = [
  ['10s', 10],
  ['30s', 30],
  ['1m', 60],
  ['5m', 300],
  ['15m', 900],
  ['30m', 1800],
  ['1h', 3600],
  ['3h', 10_800],
  ['6h', 21_600],
  ['12h', 43_200],
  ['1d', 86_400],
];

/**
 * The smallest interval that keeps a range within `maxPoints` buckets: a chart stays readable
 * and cheap (a week is 168 hourly points, an hour 360 ten-second ones).
 */
export function intervalFor(rangeMs: number, maxPoints = 400): string {
  const seconds = rangeMs / 1000;
  for (const [name, s] of INTERVALS) if (seconds / s <= maxPoints) return name;
  return '1d';
}

/** The chart ranges offered, in milliseconds. */
export const RANGES: readonly [string, number][] = [
  ['15 min', 15 * 60_000],
  ['1 hour', 3_600_000],
  ['6 hours', 6 * 3_600_000],
  ['24 hours', 86_400_000],
  ['7 days', 7 * 86_400_000],
  ['30 days', 30 * 86_400_000],
];

/** A device is silent when it has not sent for `silentAfterMs` (or never has). */
export function isSilent(lastSeenAt: string | null, now: number, silentAfterMs = 15 * 60_000): boolean {
  if (!lastSeenAt) return true;
  return now - Date.parse(lastSeenAt) > silentAfterMs;
}

export const SEVERITIES = ['critical', 'warning', 'info'] as const;

/** Counts of open alerts by severity, every severity present (0 when none). */
export function countBySeverity(alerts: readonly { severity: string; status: string }[]): Record<string, number> {
  const out: Record<string, number> = { critical: 0, warning: 0, info: 0 };
  for (const a of alerts) if (a.status !== 'resolved') out[a.severity] = (out[a.severity] ?? 0) + 1;
  return out;
}

/** Case-insensitive match of a device against a search text: name, external id or a tag. */
export function matchesDevice(d: { name: string; external_id: string; tags: readonly string[] }, text: string, tag: string): boolean {
  if (tag && !d.tags.some((t) => t.toLowerCase() === tag.toLowerCase())) return false;
  if (!text) return true;
  const q = text.toLowerCase();
  return d.name.toLowerCase().includes(q) || d.external_id.toLowerCase().includes(q) || d.tags.some((t) => t.toLowerCase().includes(q));
}

/** `a, b ,, c` → ['a', 'b', 'c']. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Comma-separated positive integer ids; null when one is not. */
export function parseIds(text: string): number[] | null {
  const parts = splitList(text);
  const ids = parts.map((p) => (/^\d{1,15}$/.test(p) ? Number(p) : NaN));
  return ids.every((n) => n >= 1) ? ids : null;
}

/** A `<input type="datetime-local">` value (local time) to ISO-8601 UTC; '' stays undefined. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Inserts or replaces by id, newest `triggered_at` first (then id), as the API lists alerts. */
export function upsertAlert<T extends { id: number; triggered_at: string }>(list: readonly T[], alert: T): T[] {
  const rest = list.filter((a) => a.id !== alert.id);
  const key = (a: T) => [Date.parse(a.triggered_at), a.id] as const;
  const [t, id] = key(alert);
  let i = 0;
  while (i < rest.length) {
    const [rt, rid] = key(rest[i]);
    if (rt < t || (rt === t && rid < id)) break;
    i++;
  }
  return [...rest.slice(0, i), alert, ...rest.slice(i)];
}
