import { ByteBudget } from './byte-budget';

describe('ByteBudget', () => {
  it('grants what fits at once and makes the rest wait, first come first served', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const releaseA = await budget.acquire(60);
    const b = budget.acquire(50).then((r) => (order.push('b'), r));
    const c = budget.acquire(10).then((r) => (order.push('c'), r));
    await new Promise((r) => setImmediate(r));
    // c would fit, but waits behind b: a stream of small bodies cannot starve a large one.
    expect(order).toEqual([]);
    expect(budget.bytesInUse).toBe(60);
    releaseA();
    const [releaseB, releaseC] = await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(budget.bytesInUse).toBe(60);
    releaseB();
    releaseB();
    releaseC();
    expect(budget.bytesInUse).toBe(0);
  });

  it('caps a request larger than the whole budget at the budget, so it still runs alone', async () => {
    const budget = new ByteBudget(100);
    const release = await budget.acquire(1_000);
    expect(budget.bytesInUse).toBe(100);
    release();
    expect(budget.bytesInUse).toBe(0);
  });
});
