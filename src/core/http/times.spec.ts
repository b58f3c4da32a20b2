import { canonicalUtcIso, parseTime } from './times';

const iso = (v: unknown): string => {
  const parsed = parseTime(v);
  if (typeof parsed === 'string') throw new Error(`expected a time for ${JSON.stringify(v)}, got "${parsed}"`);
  return parsed.toISOString();
};

describe('parseTime', () => {
  it('reads a time without offset as UTC', () => {
    expect(iso('2026-01-05T10:00:00')).toBe('2026-01-05T10:00:00.000Z');
    expect(iso('2026-01-05 10:00')).toBe('2026-01-05T10:00:00.000Z');
  });

  it('converts an offset to UTC, in every ISO spelling of the offset', () => {
    expect(iso('2026-01-05T10:00:00+02:00')).toBe('2026-01-05T08:00:00.000Z');
    expect(iso('2026-01-05T10:00:00+0200')).toBe('2026-01-05T08:00:00.000Z');
    expect(iso('2026-01-05T10:00:00-05')).toBe('2026-01-05T15:00:00.000Z');
    expect(iso('2026-01-05T23:30:00-01:00')).toBe('2026-01-06T00:30:00.000Z');
  });

  it('keeps a Z time as is, whatever the case and surrounding blanks', () => {
    expect(iso('2026-01-05T10:00:00Z')).toBe('2026-01-05T10:00:00.000Z');
    expect(iso('2026-01-05t10:00:00z')).toBe('2026-01-05T10:00:00.000Z');
    expect(iso(' 2026-01-05T10:00:00Z ')).toBe('2026-01-05T10:00:00.000Z');
  });

  it('keeps milliseconds and drops finer fractions', () => {
    expect(iso('2026-01-05T10:00:00.123Z')).toBe('2026-01-05T10:00:00.123Z');
    expect(iso('2026-01-05T10:00:00.123456789Z')).toBe('2026-01-05T10:00:00.123Z');
  });

  it('reads a date alone as midnight UTC', () => {
    expect(iso('2026-01-05')).toBe('2026-01-05T00:00:00.000Z');
  });

  it('reads numbers as Unix seconds, integer or fractional', () => {
    expect(iso(1767607200)).toBe('2026-01-05T10:00:00.000Z');
    expect(iso(1767607200.5)).toBe('2026-01-05T10:00:00.500Z');
    expect(iso(1767607200.25)).toBe('2026-01-05T10:00:00.250Z');
    expect(iso(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('refuses numbers that are not Unix seconds from 1970 to 3000 (a ms timestamp is a unit mistake)', () => {
    for (const v of [-1, 1767607200000, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(parseTime(v)).toEqual(expect.stringContaining('Unix seconds'));
    }
  });

  it('refuses what is not a time', () => {
    for (const v of ['yesterday', '', '1767607200', '05/01/2026', '2026-01-05T10', true, null, undefined, {}, []]) {
      expect(typeof parseTime(v)).toBe('string');
    }
  });

  it('refuses impossible calendar dates and clock times instead of rolling them over', () => {
    for (const v of ['2026-02-30T00:00:00Z', '2026-02-30', '2026-04-31T12:00:00', '2026-13-01T00:00:00', '2026-01-05T25:00:00Z', '2026-01-05T10:61:00Z']) {
      expect(parseTime(v)).toEqual(expect.any(String));
    }
    expect(iso('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });
});

describe('canonicalUtcIso (the hand-read fast path)', () => {
  it('gives exactly what Date gives for every Z time with 0–3 fraction digits', () => {
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const pad = (v: number, w: number) => String(v).padStart(w, '0');
    for (let i = 0; i < 5000; i++) {
      const y = 100 + rnd(9900);
      const mo = 1 + rnd(12);
      const d = 1 + rnd(31);
      const frac = ['', '.' + pad(rnd(10), 1), '.' + pad(rnd(100), 2), '.' + pad(rnd(1000), 3)][rnd(4)];
      const s = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(rnd(24), 2)}:${pad(rnd(60), 2)}:${pad(rnd(60), 2)}${frac}Z`;
      const date = new Date(s);
      const real = !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === s.slice(0, 10);
      expect([s, canonicalUtcIso(s)]).toEqual([s, real ? date.toISOString() : null]);
    }
  });

  it('leaves everything else to the general parser, which decides as before', () => {
    for (const s of [
      '2026-02-29T00:00:00Z', // not a leap year
      '2024-02-30T00:00:00.000Z',
      '2026-04-31T10:00:00Z',
      '2026-12-01T24:00:00Z',
      '2026-12-01T23:60:00Z',
      '2026-12-01T23:59:60Z',
      '2026-12-01t10:00:00z',
      '2026-12-01T10:00:00.0000Z',
      '2026-12-01T10:00:00+00:00',
      '2026-12-01 10:00:00Z',
      '0099-12-01T10:00:00Z',
      '2026-1a-01T10:00:00Z',
      ' 2026-12-01T10:00:00Z',
    ]) {
      expect([s, canonicalUtcIso(s)]).toEqual([s, null]);
    }
    expect(canonicalUtcIso('2024-02-29T23:59:59.5Z')).toBe('2024-02-29T23:59:59.500Z');
    expect(parseTime('2026-12-01t10:00:00z')).toEqual(new Date('2026-12-01T10:00:00.000Z'));
    expect(parseTime('2026-02-29T00:00:00Z')).toEqual(expect.any(String));
  });
});
