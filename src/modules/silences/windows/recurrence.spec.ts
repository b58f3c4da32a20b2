import { isTimeZone, localToInstant, Recurrence, windowsBetween } from './recurrence';
import { coveredUntil, stateAt } from './silence-timing';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const rec = (days: Recurrence['days'], start: string, duration_minutes: number, timezone: string): Recurrence => ({ days, start, duration_minutes, timezone });
/** The windows of one local day (the query spans that whole UTC day and its neighbours). */
const on = (r: Recurrence, day: string) =>
  windowsBetween(r, at(`${day}T00:00:00Z`) - 86_400_000, at(`${day}T00:00:00Z`) + 2 * 86_400_000)
    .map((w) => [iso(w.start), iso(w.end)])
    .filter(([s]) => Math.abs(at(s) - at(`${day}T12:00:00Z`)) < 86_400_000);

describe('recurring windows across 2027 daylight-saving changes', () => {
  describe('Europe/Berlin (CET +1 / CEST +2; changes on 28 March and 31 October 2027)', () => {
    const tuesday = rec(['tue'], '02:00', 120, 'Europe/Berlin');

    it('a Tuesday 02:00–04:00 window is 01:00–03:00 UTC in winter and 00:00–02:00 UTC in summer', () => {
      expect(on(tuesday, '2027-01-12')).toEqual([['2027-01-12T01:00:00Z', '2027-01-12T03:00:00Z']]);
      expect(on(tuesday, '2027-03-23')).toEqual([['2027-03-23T01:00:00Z', '2027-03-23T03:00:00Z']]);
      expect(on(tuesday, '2027-03-30')).toEqual([['2027-03-30T00:00:00Z', '2027-03-30T02:00:00Z']]);
      expect(on(tuesday, '2027-07-13')).toEqual([['2027-07-13T00:00:00Z', '2027-07-13T02:00:00Z']]);
      expect(on(tuesday, '2027-10-26')).toEqual([['2027-10-26T00:00:00Z', '2027-10-26T02:00:00Z']]);
      expect(on(tuesday, '2027-11-02')).toEqual([['2027-11-02T01:00:00Z', '2027-11-02T03:00:00Z']]);
    });

    it('a start the spring change skips (02:30 on 28 March) begins at the first valid minute after it, 03:00 CEST', () => {
      expect(on(rec(['sun'], '02:30', 60, 'Europe/Berlin'), '2027-03-28')).toEqual([['2027-03-28T01:00:00Z', '2027-03-28T02:00:00Z']]);
      expect(on(rec(['sun'], '02:00', 60, 'Europe/Berlin'), '2027-03-28')).toEqual([['2027-03-28T01:00:00Z', '2027-03-28T02:00:00Z']]);
      // 03:00 exists (it is the moment of the change) and 01:59 is still winter time.
      expect(on(rec(['sun'], '03:00', 60, 'Europe/Berlin'), '2027-03-28')).toEqual([['2027-03-28T01:00:00Z', '2027-03-28T02:00:00Z']]);
      expect(on(rec(['sun'], '01:59', 1, 'Europe/Berlin'), '2027-03-28')).toEqual([['2027-03-28T00:59:00Z', '2027-03-28T01:00:00Z']]);
    });

    it('a start the autumn change repeats (02:30 on 31 October) is taken at its first occurrence, in summer time', () => {
      expect(on(rec(['sun'], '02:30', 60, 'Europe/Berlin'), '2027-10-31')).toEqual([['2027-10-31T00:30:00Z', '2027-10-31T01:30:00Z']]);
      expect(on(rec(['sun'], '03:00', 60, 'Europe/Berlin'), '2027-10-31')).toEqual([['2027-10-31T02:00:00Z', '2027-10-31T03:00:00Z']]);
    });

    it('a window lasts its minutes of real time through a change', () => {
      // 01:30 CET + 120 minutes = 04:30 CEST on the spring day.
      expect(on(rec(['sun'], '01:30', 120, 'Europe/Berlin'), '2027-03-28')).toEqual([['2027-03-28T00:30:00Z', '2027-03-28T02:30:00Z']]);
    });

    it('daily windows follow the local clock on the days around each change', () => {
      const daily = rec(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], '09:00', 30, 'Europe/Berlin');
      const spans = windowsBetween(daily, at('2027-03-27T00:00:00Z'), at('2027-03-30T00:00:00Z')).map((w) => iso(w.start));
      expect(spans).toEqual(['2027-03-27T08:00:00Z', '2027-03-28T07:00:00Z', '2027-03-29T07:00:00Z']);
      const autumn = windowsBetween(daily, at('2027-10-30T00:00:00Z'), at('2027-11-02T00:00:00Z')).map((w) => iso(w.start));
      expect(autumn).toEqual(['2027-10-30T07:00:00Z', '2027-10-31T08:00:00Z', '2027-11-01T08:00:00Z']);
    });
  });

  describe('America/New_York (EST −5 / EDT −4; changes on 14 March and 7 November 2027)', () => {
    it('the same local time is an hour earlier in UTC in summer', () => {
      const monday = rec(['mon'], '09:00', 60, 'America/New_York');
      expect(on(monday, '2027-03-08')).toEqual([['2027-03-08T14:00:00Z', '2027-03-08T15:00:00Z']]);
      expect(on(monday, '2027-03-15')).toEqual([['2027-03-15T13:00:00Z', '2027-03-15T14:00:00Z']]);
      expect(on(monday, '2027-11-01')).toEqual([['2027-11-01T13:00:00Z', '2027-11-01T14:00:00Z']]);
      expect(on(monday, '2027-11-08')).toEqual([['2027-11-08T14:00:00Z', '2027-11-08T15:00:00Z']]);
    });

    it('02:15 on 14 March does not exist: the window begins at 03:00 EDT', () => {
      expect(on(rec(['sun'], '02:15', 30, 'America/New_York'), '2027-03-14')).toEqual([['2027-03-14T07:00:00Z', '2027-03-14T07:30:00Z']]);
    });

    it('01:30 on 7 November happens twice: the window begins at the first, 01:30 EDT', () => {
      expect(on(rec(['sun'], '01:30', 60, 'America/New_York'), '2027-11-07')).toEqual([['2027-11-07T05:30:00Z', '2027-11-07T06:30:00Z']]);
    });

    it('a late-evening local window starts on the next UTC day', () => {
      expect(on(rec(['fri'], '22:00', 180, 'America/New_York'), '2027-07-16')).toEqual([['2027-07-17T02:00:00Z', '2027-07-17T05:00:00Z']]);
    });
  });

  describe('Asia/Kolkata (+05:30 all year, no daylight saving)', () => {
    it('keeps its half-hour offset in winter and summer', () => {
      const r = rec(['wed'], '10:00', 45, 'Asia/Kolkata');
      expect(on(r, '2027-01-13')).toEqual([['2027-01-13T04:30:00Z', '2027-01-13T05:15:00Z']]);
      expect(on(r, '2027-07-14')).toEqual([['2027-07-14T04:30:00Z', '2027-07-14T05:15:00Z']]);
    });

    it('a window just after local midnight belongs to the local day, the previous UTC day', () => {
      expect(on(rec(['thu'], '00:15', 60, 'Asia/Kolkata'), '2027-03-10')).toEqual([['2027-03-10T18:45:00Z', '2027-03-10T19:45:00Z']]);
    });

    it('the instant of a local time is a plain −05:30 shift', () => {
      expect(iso(localToInstant('Asia/Kolkata', { year: 2027, month: 3, day: 28 }, 2, 30))).toBe('2027-03-27T21:00:00Z');
    });
  });

  it('includes a window that started before the range and is still open', () => {
    const r = rec(['tue'], '23:00', 180, 'UTC');
    expect(windowsBetween(r, at('2027-01-06T00:30:00Z'), at('2027-01-06T01:00:00Z')).map((w) => iso(w.start))).toEqual(['2027-01-05T23:00:00Z']);
    expect(windowsBetween(r, at('2027-01-06T02:00:00Z'), at('2027-01-06T03:00:00Z'))).toEqual([]);
  });

  it('knows IANA zones through Intl and refuses the rest', () => {
    for (const z of ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'UTC', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) expect(isTimeZone(z)).toBe(true);
    for (const z of ['Mars/Olympus', 'Europe/Berlinn', '+05:30', '', 'Europe/../Berlin ', 'CEST']) expect(isTimeZone(z)).toBe(false);
  });
});

describe('silence state', () => {
  const oneOff = { startsAt: at('2027-01-01T10:00:00Z'), endsAt: at('2027-01-01T12:00:00Z'), recurrence: null };

  it('a one-off silence is pending before its start, active until its end, then expired', () => {
    expect(stateAt(oneOff, at('2027-01-01T09:59:59Z'))).toBe('pending');
    expect(stateAt(oneOff, at('2027-01-01T10:00:00Z'))).toBe('active');
    expect(stateAt(oneOff, at('2027-01-01T11:59:59Z'))).toBe('active');
    expect(stateAt(oneOff, at('2027-01-01T12:00:00Z'))).toBe('expired');
  });

  it('a recurring silence is active in its windows, pending between them, expired past its last', () => {
    const r = { startsAt: at('2027-01-01T00:00:00Z'), endsAt: at('2027-01-20T00:00:00Z'), recurrence: rec(['tue'], '02:00', 120, 'Europe/Berlin') };
    expect(stateAt(r, at('2027-01-12T01:30:00Z'))).toBe('active');
    expect(stateAt(r, at('2027-01-12T03:00:00Z'))).toBe('pending');
    expect(stateAt(r, at('2027-01-19T03:00:00Z'))).toBe('expired');
    expect(stateAt({ ...r, endsAt: null }, at('2027-06-02T00:00:00Z'))).toBe('pending');
    expect(stateAt(r, at('2026-12-31T00:00:00Z'))).toBe('pending');
  });

  it('a pair stays muted until no span covers it, across overlapping and touching spans', () => {
    const spans = [
      { start: 0, end: 10 },
      { start: 5, end: 20 },
      { start: 20, end: 25 },
      { start: 30, end: 40 },
    ];
    expect(coveredUntil(spans, 3)).toBe(25);
    expect(coveredUntil(spans, 27)).toBe(27);
    expect(coveredUntil(spans, 35)).toBe(40);
  });
});
