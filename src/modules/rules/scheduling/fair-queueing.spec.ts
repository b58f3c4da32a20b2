import { COST_TTL_MS, evaluationWork, EvaluationCosts, HEAVY_EVALUATION_WORK, queueingFor } from './fair-queueing';

describe('evaluationWork', () => {
  it('counts rules, and each window reading once plus once per condition counted over it', () => {
    expect(evaluationWork(20, 10_000, 20)).toBe(210_020);
    expect(evaluationWork(20, 10_000, 1)).toBe(20_020); // 20 rules counting the same condition
    expect(evaluationWork(1, 1, 1)).toBe(3); // a 1-of-1 rule
    expect(evaluationWork(3, 0, 0)).toBe(3); // no-data rules only: no window read
  });

  it('calls a window of 5,000 readings for one condition heavy enough, not one of 1,000', () => {
    expect(evaluationWork(1, 5_000, 1)).toBeGreaterThanOrEqual(HEAVY_EVALUATION_WORK);
    expect(evaluationWork(1, 1_000, 1)).toBeLessThan(HEAVY_EVALUATION_WORK);
  });
});

describe('queueingFor', () => {
  it('queues a device whose last evaluation was not heavy first and at once', () => {
    expect(queueingFor(null, 0)).toEqual({ heavy: false, delay: 0 });
    expect(queueingFor(null, 5)).toEqual({ heavy: false, delay: 0 });
  });

  it('queues a heavy device behind cheap ones, held back twice its cost per heavy device of its project', () => {
    expect(queueingFor(200, 1)).toEqual({ heavy: true, delay: 400 });
    expect(queueingFor(200, 0)).toEqual({ heavy: true, delay: 400 });
    expect(queueingFor(200, 10)).toEqual({ heavy: true, delay: 4_000 });
  });

  it('never holds an evaluation back more than ten seconds', () => {
    expect(queueingFor(5_000, 50).delay).toBe(10_000);
  });
});

describe('EvaluationCosts (by work: rules, plus window readings × conditions)', () => {
  const large = 210_020; // 20 conditions counted over 10,000 readings
  it('calls heavy what does far more work than the cheapest project, and nothing of a project alone', () => {
    const costs = new EvaluationCosts();
    expect(costs.observe(1, large, 0)).toBe(false); // alone: no one to be fair to
    expect(costs.observe(2, 2, 10)).toBe(false);
    expect(costs.observe(1, large, 20)).toBe(true);
    expect(costs.observe(2, 2, 30)).toBe(false);
  });

  it('never calls heavy what is under the floor, nor projects doing alike', () => {
    const costs = new EvaluationCosts();
    costs.observe(2, 2, 0);
    expect(costs.observe(1, HEAVY_EVALUATION_WORK - 1, 10)).toBe(false);
    const alike = new EvaluationCosts();
    alike.observe(2, 150_000, 0);
    expect(alike.observe(1, large, 10)).toBe(false);
  });

  it('does not call heavy one large evaluation of a light project', () => {
    const costs = new EvaluationCosts();
    costs.observe(1, 20, 0);
    costs.observe(2, 20, 0);
    costs.observe(2, 25, 5);
    expect(costs.observe(1, large, 10)).toBe(false);
  });

  it('forgets projects not seen for a while', () => {
    const costs = new EvaluationCosts();
    costs.observe(2, 2, 0);
    expect(costs.observe(1, large, 10)).toBe(true);
    expect(costs.observe(1, large, COST_TTL_MS + 20)).toBe(false);
  });

  it('keeps an evaluation that ran as heavy heavy while its work stays large, alone or not', () => {
    const costs = new EvaluationCosts();
    expect(costs.observe(1, large, 0, true)).toBe(true); // a lane sees only heavy projects
    expect(costs.observe(1, HEAVY_EVALUATION_WORK - 1, 10, true)).toBe(false);
  });
});
