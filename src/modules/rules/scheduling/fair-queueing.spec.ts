import { COST_TTL_MS, EvaluationCosts, HEAVY_EVALUATION_MS, queueingFor } from './fair-queueing';

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

describe('EvaluationCosts', () => {
  it('calls heavy what costs far more than the cheapest project, and nothing of a project alone', () => {
    const costs = new EvaluationCosts();
    expect(costs.observe(1, 800, 0)).toBe(false); // alone: no one to be fair to
    expect(costs.observe(2, 30, 10)).toBe(false);
    expect(costs.observe(1, 800, 20)).toBe(true);
    expect(costs.observe(2, 40, 30)).toBe(false);
  });

  it('never calls heavy what is under the floor, nor what a busy machine slows alike', () => {
    const costs = new EvaluationCosts();
    costs.observe(2, 10, 0);
    expect(costs.observe(1, HEAVY_EVALUATION_MS - 1, 10)).toBe(false);
    const busy = new EvaluationCosts();
    busy.observe(2, 300, 0);
    expect(busy.observe(1, 400, 10)).toBe(false);
  });

  it('does not call heavy one slow evaluation of a cheap project', () => {
    const costs = new EvaluationCosts();
    costs.observe(1, 20, 0);
    costs.observe(2, 20, 0);
    costs.observe(2, 25, 5);
    expect(costs.observe(1, 900, 10)).toBe(false);
  });

  it('forgets projects not seen for a while', () => {
    const costs = new EvaluationCosts();
    costs.observe(2, 10, 0);
    expect(costs.observe(1, 800, 10)).toBe(true);
    expect(costs.observe(1, 800, COST_TTL_MS + 20)).toBe(false);
  });
});
