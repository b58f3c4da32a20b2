import { evaluate, Operator, RuleCondition, WindowReading } from './k-of-n';

const rule = (over: Partial<RuleCondition> = {}): RuleCondition => ({
  metric: 'temperature',
  operator: '>',
  threshold: 80,
  window_n: 5,
  required_k: 3,
  ...over,
});

/** Readings oldest first, as a device sends them; evaluate() takes them newest first. */
function window(values: unknown[], metric = 'temperature'): WindowReading[] {
  return values
    .map((v, i) => ({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)), payload: v === undefined ? {} : { [metric]: v } }))
    .reverse();
}

describe('k-of-n evaluation (temperature > 80, n=5, k=3)', () => {
  it('85 five times fires, with latest_value 85', () => {
    expect(evaluate(rule(), window([85, 85, 85, 85, 85]))).toEqual({
      holds: true,
      match_count: 5,
      considered: 5,
      latest_value: 85,
      latest_ts: '2026-01-01T00:00:04.000Z',
    });
  });

  it('75 five times does not fire', () => {
    expect(evaluate(rule(), window([75, 75, 75, 75, 75]))).toMatchObject({ holds: false, match_count: 0 });
  });

  it('85,75,90,70,95 fires: three of five breach', () => {
    expect(evaluate(rule(), window([85, 75, 90, 70, 95]))).toMatchObject({ holds: true, match_count: 3, latest_value: 95 });
  });

  it('85,75,70,70,90 does not fire: two of five breach', () => {
    expect(evaluate(rule(), window([85, 75, 70, 70, 90]))).toMatchObject({ holds: false, match_count: 2 });
  });

  it('three breaching readings do not fire while the window is not full', () => {
    expect(evaluate(rule(), window([95, 95, 95]))).toMatchObject({ holds: false, match_count: 3, considered: 3 });
  });

  it('readings with only humidity do not fire', () => {
    expect(evaluate(rule(), window([90, 90, 90, 90, 90], 'humidity'))).toMatchObject({ holds: false, match_count: 0, latest_value: null });
  });

  it('strings, booleans, null and missing values occupy a slot and do not match', () => {
    const result = evaluate(rule(), window(['95', true, null, undefined, 95, 95]));
    expect(result).toMatchObject({ holds: false, match_count: 2, considered: 5 });
  });

  it('only the newest n readings count', () => {
    expect(evaluate(rule(), window([95, 95, 95, 10, 10, 10, 10, 10]))).toMatchObject({ holds: false, match_count: 0 });
    expect(evaluate(rule(), window([10, 10, 10, 95, 95, 95, 10, 10]))).toMatchObject({ holds: true, match_count: 3 });
  });

  it.each<[Operator, number, boolean]>([
    ['>', 80, false],
    ['>', 80.5, true],
    ['>=', 80, true],
    ['>=', 79.9, false],
    ['<', 80, false],
    ['<', 79.5, true],
    ['<=', 80, true],
    ['<=', 80.1, false],
  ])('operator %s threshold 80 with value %d → %s', (operator, value, holds) => {
    const result = evaluate(rule({ operator, window_n: 1, required_k: 1 }), window([value]));
    expect(result.holds).toBe(holds);
  });

  it('k = n requires every reading to match', () => {
    expect(evaluate(rule({ required_k: 5 }), window([81, 81, 81, 81, 80])).holds).toBe(false);
    expect(evaluate(rule({ required_k: 5 }), window([81, 81, 81, 81, 81])).holds).toBe(true);
  });
});
