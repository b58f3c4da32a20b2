import { ValidationError } from '../../core/errors/app-error';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
export const MIN_INTERVAL_SECONDS = 10;
export const MAX_INTERVAL_SECONDS = 86_400;

/** `10s` … `1d` → seconds; anything else is a 422 naming `interval`. */
export function parseInterval(raw: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(raw.trim());
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2]] : NaN;
  if (!(seconds >= MIN_INTERVAL_SECONDS && seconds <= MAX_INTERVAL_SECONDS)) {
    throw ValidationError.field('interval', 'interval must be a duration from 10s to 1d, such as 10s, 5m, 1h or 1d');
  }
  return seconds;
}

export const WINDOW_SECONDS = { '5m': 300, '15m': 900, '1h': 3600, '24h': 86_400 } as const;
