import { conditionKey, RuleCondition, verdict } from './k-of-n';

const rule: RuleCondition = { metric: 'temperature', operator: '>', threshold: 80, window_n: 5, required_k: 3 };
const counted = (match_count: number, considered: number) => ({ match_count, considered, latest_value: 85, latest_ts: '2026-01-01T00:00:04.000Z' });

// The counting itself runs in Postgres: test/integration/window-counts.repository.spec.ts.
describe('k-of-n verdict (temperature > 80, n=5, k=3)', () => {
  it('holds with at least k matches in a full window, and keeps the counts', () => {
    expect(verdict(rule, counted(3, 5))).toEqual({ holds: true, ...counted(3, 5) });
    expect(verdict(rule, counted(5, 5)).holds).toBe(true);
    expect(verdict(rule, counted(2, 5)).holds).toBe(false);
  });

  it('does not hold while the window is not full, whatever matched', () => {
    expect(verdict(rule, counted(3, 4)).holds).toBe(false);
  });

  it('gives rules that count the same thing one key, and others another', () => {
    const anotherK: RuleCondition = { ...rule, required_k: 1 };
    expect(conditionKey(rule)).toBe(conditionKey(anotherK));
    for (const other of [{ metric: 'hum' }, { operator: '>=' as const }, { threshold: 80.5 }, { window_n: 6 }]) {
      expect(conditionKey({ ...rule, ...other })).not.toBe(conditionKey(rule));
    }
  });
});
