import { after, dueNow, earlyMs, intervalMs, LATE_MS, MAX_EARLY_MS, missedCount, turnAt } from './pacing';

describe('webhook pacing math', () => {
  it('spaces turns by the rate', () => {
    expect(intervalMs(20)).toBe(50);
    expect(intervalMs(1)).toBe(1000);
    expect(intervalMs(10_000)).toBeCloseTo(0.1);
    expect(turnAt({ at: 1000, every: 50 }, 4)).toBe(1200);
  });

  it('lets a turn be taken at most half a turn early, and never more than MAX_EARLY_MS', () => {
    expect(earlyMs({ at: 0, every: 50 })).toBe(25);
    expect(earlyMs({ at: 0, every: 1000 })).toBe(MAX_EARLY_MS);
    expect(earlyMs({ at: 0, every: 0.1 })).toBe(0.05);
  });

  it('at a low pace, one delivery per turn: the first goes now, the next one turn later', () => {
    const t = { at: 1000, every: 50 };
    expect(dueNow(t, 200, 1000)).toBe(1);
    expect(dueNow(t, 200, 1024)).toBe(1);
    expect(dueNow(t, 200, 1025)).toBe(2);
    expect(dueNow(t, 200, 999)).toBe(1);
    // Woken early (or the turns lie ahead): none yet.
    expect(dueNow(t, 200, 974)).toBe(0);
  });

  it('at a high pace, the turns of MAX_EARLY_MS go together', () => {
    const t = { at: 0, every: 0.1 };
    // 10,000/s: 50 ms hold about 500 turns.
    expect(dueNow({ at: 0, every: 0.1 }, 5000, 0)).toBe(1);
    expect(dueNow(t, 5000, 49.95)).toBe(501);
    expect(dueNow(t, 100, 49.95)).toBe(100);
  });

  it('a late wake sends every turn that came, and no more than it holds', () => {
    const t = { at: 0, every: 100 };
    expect(dueNow(t, 5, 420)).toBe(5);
    expect(dueNow(t, 10, 420)).toBe(5);
  });

  it('a late wake sends only the turns of the last LATE_MS and early allowance, so no second sees more than that over the rate', () => {
    // A worker that wakes every 400 ms (late) for a pace of 20/s.
    let t = { at: 0, every: 50 };
    let left = 100;
    const sent: number[] = [];
    let missedTotal = 0;
    for (let now = 0; left > 0; now += 400) {
      const m = missedCount(t, left, now);
      const k = dueNow(t, left, now);
      for (let i = m; i < k; i++) sent.push(now);
      missedTotal += m;
      t = after(t, k);
      left -= k;
    }
    expect(missedTotal).toBeGreaterThan(0);
    const perSecond = new Map<number, number>();
    for (const at of sent) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    for (const n of perSecond.values()) expect(n).toBeLessThanOrEqual(20 * (1 + (LATE_MS + 25) / 1000) + 1);
  });

  it('turns passed more than LATE_MS ago are missed, except the last one that came', () => {
    const t = { at: 0, every: 50 };
    // On time, or a little late: nothing missed.
    expect(missedCount(t, 10, 0)).toBe(0);
    expect(missedCount(t, 10, LATE_MS)).toBe(0);
    // 420 ms late: turns 0…6 (0–300 ms) passed more than 100 ms ago; 7…8 (350, 400) are taken.
    expect(dueNow(t, 10, 420)).toBe(9);
    expect(missedCount(t, 10, 420)).toBe(7);
    // Held turns all long past: the last one still goes.
    expect(missedCount({ at: 0, every: 1000 }, 3, 10_000)).toBe(2);
    expect(missedCount({ at: 0, every: 1000 }, 1, 10_000)).toBe(0);
    // Woken before any turn came: nothing missed, nothing due.
    expect(missedCount({ at: 1000, every: 50 }, 5, 0)).toBe(0);
  });

  it('the rest keep their own turns', () => {
    const t = { at: 1000, every: 50 };
    const rest = after(t, 3);
    expect(rest).toEqual({ at: 1150, every: 50 });
    expect(turnAt(rest, 0)).toBe(turnAt(t, 3));
  });

  it('over 200 deliveries at 20/s, taking every turn as soon as allowed spans ~10 s and never runs ahead of the pace', () => {
    let t = { at: 0, every: intervalMs(20) };
    let left = 200;
    const sent: number[] = [];
    for (let now = 0; left > 0; now += 1) {
      const k = dueNow(t, left, now);
      for (let i = 0; i < k; i++) sent.push(now);
      t = after(t, k);
      left -= k;
    }
    expect(sent[sent.length - 1] - sent[0]).toBeGreaterThanOrEqual(199 * 50 - 25);
    // In any second, at most the rate and one turn taken early.
    for (let i = 0; i + 21 < sent.length; i++) expect(sent[i + 21] - sent[i]).toBeGreaterThan(1000);
  });
});
