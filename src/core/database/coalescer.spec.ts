import { Coalescer } from './coalescer';

describe('Coalescer', () => {
  it('writes alone when quiet, and gathers what arrives during a flush into the next one', async () => {
    const flushed: number[][] = [];
    let release: () => void = () => undefined;
    const c = new Coalescer<number>({
      flush: (items) => {
        flushed.push(items);
        return new Promise((r) => (release = r));
      },
      maxWeight: 100,
      maxParallel: 1,
    });
    const first = c.submit(1);
    const rest = [2, 3, 4].map((n) => c.submit(n));
    expect(flushed).toEqual([[1]]);
    release();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([[1], [2, 3, 4]]);
    release();
    await Promise.all(rest);
  });

  it('splits by weight and rejects every caller of a failed batch', async () => {
    const flushed: number[][] = [];
    const c = new Coalescer<number>({
      flush: async (items) => {
        flushed.push(items);
        if (items.includes(13)) throw new Error('boom');
      },
      maxWeight: 2,
      maxParallel: 1,
    });
    const results = await Promise.allSettled([1, 2, 3, 13].map((n) => c.submit(n)));
    expect(flushed).toEqual([[1], [2, 3], [13]]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
  });
});
