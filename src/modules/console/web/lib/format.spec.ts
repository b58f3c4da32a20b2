import { countBySeverity, formatAgo, formatNumber, formatTime, intervalFor, isSilent, localInputToIso, matchesDevice, parseIds, splitList, upsertAlert } from './format';

describe('console formatting', () => {
  const now = Date.parse('2026-12-05T12:00:00Z');

  it('shows times in UTC and ages relative to now', () => {
    expect(formatTime('2026-12-05T11:59:30.123Z')).toBe('2026-12-05 11:59:30');
    expect(formatTime(null)).toBe('—');
    expect(formatTime('garbage')).toBe('—');
    expect(formatAgo('2026-12-05T11:59:58Z', now)).toBe('just now');
    expect(formatAgo('2026-12-05T11:59:18Z', now)).toBe('42 s ago');
    expect(formatAgo('2026-12-05T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAgo('2026-12-05T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAgo('2026-12-03T12:00:00Z', now)).toBe('2 d ago');
    expect(formatAgo(null, now)).toBe('never');
  });

  it('formats numbers', () => {
    expect(formatNumber(12345.678)).toBe('12,345.7');
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(Number.NaN)).toBe('—');
  });

  it('picks an aggregate interval that keeps a range within 400 buckets', () => {
    expect(intervalFor(15 * 60_000)).toBe('10s');
    expect(intervalFor(3_600_000)).toBe('10s');
    expect(intervalFor(6 * 3_600_000)).toBe('1m');
    expect(intervalFor(86_400_000)).toBe('5m');
    expect(intervalFor(7 * 86_400_000)).toBe('30m');
    expect(intervalFor(30 * 86_400_000)).toBe('3h');
    expect(intervalFor(10 * 365 * 86_400_000)).toBe('1d');
  });

  it('calls a device silent after 15 minutes without a reading, or when it never sent', () => {
    expect(isSilent(null, now)).toBe(true);
    expect(isSilent('2026-12-05T11:50:00Z', now)).toBe(false);
    expect(isSilent('2026-12-05T11:40:00Z', now)).toBe(true);
  });

  it('counts open alerts by severity', () => {
    expect(countBySeverity([{ severity: 'critical', status: 'firing' }, { severity: 'critical', status: 'acknowledged' }, { severity: 'info', status: 'resolved' }])).toEqual({ critical: 2, warning: 0, info: 0 });
  });

  it('matches devices by name, external id or tag text, and by exact tag', () => {
    const d = { name: 'Boiler <b>', external_id: 'sensor-01', tags: ['Floor-2', 'hvac'] };
    expect(matchesDevice(d, 'boiler', '')).toBe(true);
    expect(matchesDevice(d, 'SENSOR', '')).toBe(true);
    expect(matchesDevice(d, 'hv', '')).toBe(true);
    expect(matchesDevice(d, 'pump', '')).toBe(false);
    expect(matchesDevice(d, '', 'floor-2')).toBe(true);
    expect(matchesDevice(d, '', 'floor')).toBe(false);
  });

  it('parses lists and ids', () => {
    expect(splitList(' a, b ,, c ')).toEqual(['a', 'b', 'c']);
    expect(parseIds('1, 22')).toEqual([1, 22]);
    expect(parseIds('1, x')).toBeNull();
    expect(parseIds('0')).toBeNull();
    expect(localInputToIso('')).toBeUndefined();
    expect(localInputToIso('2026-12-05T10:00')).toBe(new Date('2026-12-05T10:00').toISOString());
  });

  it('keeps alerts newest first when the stream inserts or replaces one', () => {
    const a = (id: number, t: string, status = 'firing') => ({ id, triggered_at: t, status });
    let list = [a(3, '2026-12-05T10:03:00Z'), a(1, '2026-12-05T10:01:00Z')];
    list = upsertAlert(list, a(2, '2026-12-05T10:02:00Z'));
    expect(list.map((x) => x.id)).toEqual([3, 2, 1]);
    list = upsertAlert(list, a(2, '2026-12-05T10:02:00Z', 'acknowledged'));
    expect(list.map((x) => [x.id, x.status])).toEqual([[3, 'firing'], [2, 'acknowledged'], [1, 'firing']]);
    expect(upsertAlert(list, a(9, '2026-12-05T10:09:00Z'))[0].id).toBe(9);
    expect(upsertAlert([a(4, '2026-12-05T10:00:00Z')], a(5, '2026-12-05T10:00:00Z')).map((x) => x.id)).toEqual([5, 4]);
  });
});
