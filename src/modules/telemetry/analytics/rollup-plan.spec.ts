import { HOUR_MS, HourKeys, hoursOf, MetricValues, MAX_DELTA_MINUTES, mergeSpans, MINUTE_MS, planRollups, rollupChanges, RollupPlan, Span } from './rollup-plan';

const inSpan = (s: Span, t: number) => t >= s.from && t < s.to;

/** How many pieces of the plan a reading at `t` is counted in: rollup rows by their start, raw by t. */
function piecesHolding(plan: RollupPlan, t: number): number {
  const minute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
  const hour = Math.floor(t / HOUR_MS) * HOUR_MS;
  return (
    Number(inSpan(plan.hours, hour)) +
    plan.minutes.filter((s) => inSpan(s, minute)).length +
    plan.raw.filter((s) => inSpan(s, t)).length
  );
}

describe('planRollups', () => {
  const random = (() => {
    let s = 42;
    return () => (s = (s * 48271) % 2147483647) / 2147483647;
  })();
  const base = Date.parse('2026-03-01T00:00:00Z');

  it('counts every millisecond of from..to (inclusive) exactly once, and nothing outside', () => {
    for (let i = 0; i < 2000; i++) {
      const from = base + Math.floor(random() * 3 * HOUR_MS);
      const to = from + Math.floor(random() ** 3 * 30 * HOUR_MS);
      const useHours = random() < 0.7;
      const plan = planRollups(from, to, useHours);
      const probes = [from - 1, from, from + 1, to - 1, to, to + 1];
      for (let k = 0; k < 50; k++) probes.push(from - MINUTE_MS + Math.floor(random() * (to - from + 2 * MINUTE_MS)));
      for (const edge of [MINUTE_MS, HOUR_MS]) {
        for (let b = Math.ceil(from / edge) * edge; b <= to && b < from + 3 * edge; b += edge) probes.push(b - 1, b);
      }
      for (const t of probes) expect([t, piecesHolding(plan, t)]).toEqual([t, t >= from && t <= to ? 1 : 0]);
      if (!useHours) expect(plan.hours.from).toBe(plan.hours.to);
    }
  });

  it('reads raw readings only within a minute of either end, and refreshes the whole hours it reads, edges included', () => {
    for (let i = 0; i < 500; i++) {
      const from = base + Math.floor(random() * 3 * HOUR_MS);
      const to = from + 2 * MINUTE_MS + Math.floor(random() * 30 * HOUR_MS);
      const plan = planRollups(from, to, true);
      for (const raw of plan.raw.filter((x) => x.from < x.to)) {
        expect(raw.to - raw.from).toBeLessThanOrEqual(MINUTE_MS);
        // Each edge lies within one minute, whose hour is refreshed (its row may stand in for it).
        expect(Math.floor(raw.from / MINUTE_MS)).toBe(Math.floor((raw.to - 1) / MINUTE_MS));
        expect(raw.from).toBeGreaterThanOrEqual(plan.refresh.from);
        expect(raw.to).toBeLessThanOrEqual(plan.refresh.to);
      }
      for (const s of [plan.hours, ...plan.minutes].filter((x) => x.from < x.to)) {
        expect(s.from).toBeGreaterThanOrEqual(plan.refresh.from);
        expect(s.to).toBeLessThanOrEqual(plan.refresh.to);
      }
      expect(plan.refresh.from % HOUR_MS).toBe(0);
      expect(plan.refresh.to % HOUR_MS).toBe(0);
    }
  });

  it('uses hour rows for the whole hours inside the range', () => {
    const plan = planRollups(base + 90_000, base + 5 * HOUR_MS + 30_000, true);
    expect(plan.hours).toEqual({ from: base + HOUR_MS, to: base + 5 * HOUR_MS });
    expect(plan.minutes).toEqual([{ from: base + 2 * MINUTE_MS, to: base + HOUR_MS }, { from: base + 5 * HOUR_MS, to: base + 5 * HOUR_MS }]);
    expect(hoursOf(plan.refresh)).toEqual([0, 1, 2, 3, 4, 5].map((h) => base + h * HOUR_MS));
  });
});

describe('rollupChanges', () => {
  const row = (projectId: number, ts: string, data: Record<string, unknown>) => ({ projectId, deviceId: 1, eventId: 'e', ts, receivedAt: ts, data });

  it('writes deltas for a few minutes of an hour, and marks the hour past them', () => {
    const at = (hhmm: string) => `2026-03-01T${hhmm}:30.000Z`;
    const minutes = ['11:00', '11:01', '11:02', '11:03', '11:04'];
    const { marks, values, singles } = rollupChanges([
      row(1, at('10:15'), { temp: 1, hum: 2, label: 'x', flag: true, nested: { temp: 3 } }),
      row(1, at('10:15'), { temp: 5 }),
      row(1, at('10:59'), { temp: 5 }),
      // Five minutes of one hour: more than MAX_DELTA_MINUTES, so a mark.
      ...minutes.map((m) => row(1, at(m), { temp: 5, hum: m === '11:00' ? 1 : 'n/a' })),
      row(2, at('10:00'), { temp: 5, hum: null }),
    ]);
    const list = (k: HourKeys) => k.p.map((p, i) => [p, k.m[i], k.h[i]]);
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
    expect(list(marks)).toEqual([[1, 'temp', '2026-03-01T11:00:00Z']]);
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
});

describe('mergeSpans', () => {
  it('joins adjacent spans and keeps gaps', () => {
    expect(mergeSpans([{ from: 120, to: 180 }, { from: 0, to: 60 }, { from: 60, to: 120 }, { from: 300, to: 360 }])).toEqual([
      { from: 0, to: 180 },
      { from: 300, to: 360 },
    ]);
  });
});
