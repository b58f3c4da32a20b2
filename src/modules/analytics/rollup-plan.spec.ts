import { HOUR_MS, hoursOf, mergeSpans, MINUTE_MS, planRollups, RollupPlan, Span } from './rollup-plan';

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

describe('mergeSpans', () => {
  it('joins adjacent spans and keeps gaps', () => {
    expect(mergeSpans([{ from: 120, to: 180 }, { from: 0, to: 60 }, { from: 60, to: 120 }, { from: 300, to: 360 }])).toEqual([
      { from: 0, to: 180 },
      { from: 300, to: 360 },
    ]);
  });
});
