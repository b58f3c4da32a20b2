import { HourKeys, MAX_DELTA_MINUTES, MAX_SPREAD_VALUES, MetricValues, rollupChanges } from './rollup-changes';

describe('rollupChanges', () => {
  const list = (k: HourKeys) => k.p.map((p, i) => [p, k.m[i], k.h[i]]);
  const row = (projectId: number, ts: string, data: Record<string, unknown>) => ({ projectId, deviceId: 1, eventId: 'e', ts, receivedAt: ts, data });

  it('writes deltas for a few minutes of an hour, and spreads the values of a backfill past them', () => {
    const at = (hhmm: string) => `2026-03-01T${hhmm}:30.000Z`;
    const minutes = ['11:00', '11:01', '11:02', '11:03', '11:04'];
    const { marks, values, singles, spread } = rollupChanges([
      row(1, at('10:15'), { temp: 1, hum: 2, label: 'x', flag: true, nested: { temp: 3 } }),
      row(1, at('10:15'), { temp: 5 }),
      row(1, at('10:59'), { temp: 5 }),
      // Five minutes of one hour: more than MAX_DELTA_MINUTES, so a backfill of that hour.
      ...minutes.map((m) => row(1, at(m), { temp: 5, hum: m === '11:00' ? 1 : 'n/a' })),
      row(2, at('10:00'), { temp: 5, hum: null }),
    ]);
    const triples = (v: MetricValues) => v.i.map((i, k) => [i, v.m[k], v.v[k]]);
    expect(MAX_DELTA_MINUTES).toBe(4);
    // Every numeric value of the delta hours, by row: several in a minute to aggregate, or one alone.
    expect(triples(values)).toEqual([
      [0, 'temp', 1],
      [1, 'temp', 5],
    ]);
    expect(triples(singles)).toEqual([
      [2, 'temp', 5],
      [0, 'hum', 2],
      [3, 'hum', 1],
      [8, 'temp', 5],
    ]);
    expect(list(spread.hours)).toEqual([[1, 'temp', '2026-03-01T11:00:00Z']]);
    expect(spread.singles.i.map((i, x) => [i, spread.singles.k[x], spread.singles.v[x]])).toEqual([3, 4, 5, 6, 7].map((i) => [i, 0, 5]));
    expect(spread.values.i).toEqual([]);
    expect(list(marks)).toEqual([]);
  });

  it('marks an hour, without its values, when a flush backfills more than MAX_SPREAD_VALUES of them', () => {
    const n = MAX_SPREAD_VALUES + 1;
    const rows = Array.from({ length: n }, (_, k) => row(1, new Date(Date.UTC(2026, 2, 1, 10, k % 60, Math.floor(k / 60))).toISOString(), { temp: k }));
    const { marks, values, singles, spread } = rollupChanges([...rows, row(1, '2026-03-01T09:00:00.000Z', { temp: 1 })]);
    expect(list(marks)).toEqual([[1, 'temp', '2026-03-01T10:00:00Z']]);
    expect([spread.hours.p, spread.singles.i, spread.values.i, values.i]).toEqual([[], [], [], []]);
    expect(singles.i).toEqual([n]);
    // Exactly MAX_SPREAD_VALUES: still spread.
    const kept = rollupChanges(rows.slice(1)).spread;
    expect(kept.singles.i.length + kept.values.i.length).toBe(MAX_SPREAD_VALUES);
  });

  it('aggregates the values a backfill has in one minute, as for live data', () => {
    const at = (mm: string, ss: string) => `2026-03-01T11:${mm}:${ss}.000Z`;
    const { spread } = rollupChanges([
      ...['00', '01', '02', '03', '04'].map((mm) => row(1, at(mm, '10'), { temp: 1 })),
      row(1, at('04', '40'), { temp: 2 }),
    ]);
    expect([spread.singles.i, spread.values.i, spread.values.k, spread.values.v]).toEqual([[0, 1, 2, 3], [4, 5], [0, 0], [1, 2]]);
  });

  it('reads each value of a wide event once and skips what is not a finite number', () => {
    const data: Record<string, unknown> = { inf: Infinity, nan: NaN, s: '1' };
    for (let k = 0; k < 10_000; k++) data[`k${k}`] = k;
    const { marks, values, singles } = rollupChanges([row(1, '2026-03-01T10:00:00.000Z', data)]);
    expect(marks.p).toEqual([]);
    expect(values.m).toEqual([]);
    expect(singles.m.length).toBe(10_000);
    expect(singles.v[9_999]).toBe(9_999);
  });

  it('records nothing for metrics without rollups, live or backfilled', () => {
    const hasRollups = (projectId: number, metric: string) => projectId === 1 && metric === 'kept';
    const backfill = [0, 1, 2, 3, 4, 5].map((m) => row(1, `2026-03-01T08:0${m}:00.000Z`, { kept: m, dropped: m }));
    const bulk = Array.from({ length: MAX_SPREAD_VALUES + 1 }, (_, k) => row(1, `2026-03-01T06:${String(k % 60).padStart(2, '0')}:00.000Z`, { dropped: k }));
    const { marks, values, singles, spread } = rollupChanges(
      [row(1, '2026-03-01T10:00:00.000Z', { kept: 1, dropped: 2 }), row(2, '2026-03-01T10:00:00.000Z', { kept: 3 }), ...backfill, ...bulk],
      hasRollups,
    );
    expect(singles.m).toEqual(['kept']);
    expect(values.m).toEqual([]);
    expect(list(marks)).toEqual([]);
    expect(list(spread.hours)).toEqual([[1, 'kept', '2026-03-01T08:00:00Z']]);
    expect(spread.singles.v).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
