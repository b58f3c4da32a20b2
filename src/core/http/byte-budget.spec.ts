import { ByteBudget } from './byte-budget';

describe('ByteBudget', () => {
  it('grants what fits at once and makes the rest wait, first come first served', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const a = await budget.acquire(60);
    const b = budget.acquire(50).then((r) => (order.push('b'), r));
    const c = budget.acquire(10).then((r) => (order.push('c'), r));
    await new Promise((r) => setImmediate(r));
    // c would fit, but waits behind b: a stream of small bodies cannot starve a large one.
    expect(order).toEqual([]);
    expect(budget.bytesInUse).toBe(60);
    a.release();
    const [heldB, heldC] = await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(budget.bytesInUse).toBe(60);
    heldB.release();
    heldB.release();
    heldC.release();
    expect(budget.bytesInUse).toBe(0);
  });

  it('gives back what a body did not need once its size is known, letting the next one in', async () => {
    const budget = new ByteBudget(100);
    const compressed = await budget.acquire(100);
    let next = false;
    const waiting = budget.acquire(70).then((h) => ((next = true), h));
    await new Promise((r) => setImmediate(r));
    expect(next).toBe(false);
    compressed.shrinkTo(30);
    const held = await waiting;
    expect(budget.bytesInUse).toBe(100);
    compressed.shrinkTo(50);
    compressed.release();
    held.release();
    expect(budget.bytesInUse).toBe(0);
  });

  it('caps a request larger than the whole budget at the budget, so it still runs alone', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(1_000);
    expect(budget.bytesInUse).toBe(100);
    held.release();
    expect(budget.bytesInUse).toBe(0);
  });
});
