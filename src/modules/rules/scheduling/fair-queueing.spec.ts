import { COST_TTL_MS, EvaluationCosts, HEAVY_EVALUATION_WORK, queueingFor } from './fair-queueing';

describe('queueingFor', () => {
  it('queues a device whose last evaluation was not heavy first and at once', () => {
    expect(queueingFor(null, 0)).toEqual({ priority: 1, delay: 0 });
    expect(queueingFor(null, 5)).toEqual({ priority: 1, delay: 0 });
  });

  it('queues a heavy device behind cheap ones, held back twice its cost per heavy device of its project', () => {
    expect(queueingFor(200, 1)).toEqual({ priority: 2, delay: 400 });
    expect(queueingFor(200, 0)).toEqual({ priority: 2, delay: 400 });
    expect(queueingFor(200, 10)).toEqual({ priority: 2, delay: 4_000 });
  });

  it('never holds an evaluation back more than ten seconds', () => {
    expect(queueingFor(5_000, 50).delay).toBe(10_000);
  });
});

describe('EvaluationCosts (by work: rules, plus window readings × conditions)', () => {
  const large = 200_020; // a 10,000-reading window counted for 20 rules
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
});
