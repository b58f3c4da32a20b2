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

  it('takes the lanes in turn, so a backlog of one lane does not keep another out of the next flush', async () => {
    const flushed: string[][] = [];
    let release: () => void = () => undefined;
    const c = new Coalescer<string>({
      flush: (items) => {
        flushed.push(items);
        return new Promise((r) => (release = r));
      },
      maxWeight: 3,
      maxParallel: 1,
      lane: (item) => item[0],
    });
    const all = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'b1', 'a7'].map((s) => c.submit(s));
    expect(flushed).toEqual([['a1']]);
    release();
    await new Promise((r) => setImmediate(r));
    expect(flushed[1]).toEqual(['a2', 'b1', 'a3']);
    for (let i = 0; i < 4; i++) {
      release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(flushed.flat().sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'b1']);
  });

  it('sends small items in an express flush while the regular ones are busy', async () => {
    const flushed: number[][] = [];
    const releases: (() => void)[] = [];
    const c = new Coalescer<number>({
      flush: (items) => {
        flushed.push(items);
        return new Promise((r) => releases.push(r));
      },
      maxWeight: 1000,
      maxParallel: 1,
      weigh: (n) => n,
      expressWeight: 10,
    });
    const all = [500, 400, 3, 600, 2].map((n) => c.submit(n));
    // The regular slot took 500, the express one 3 at once; 400 and 600 wait for the regular
    // slot, which leaves 2 to the express one.
    expect(flushed).toEqual([[500], [3]]);
    while (releases.length) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(flushed).toEqual([[500], [3], [400, 600], [2]]);
  });

  it('lets the regular slots take small items too when nothing large waits', async () => {
    const flushed: number[][] = [];
    const releases: (() => void)[] = [];
    const c = new Coalescer<number>({
      flush: (items) => {
        flushed.push(items);
        return new Promise((r) => releases.push(r));
      },
      maxWeight: 1000,
      maxParallel: 1,
      weigh: (n) => n,
      expressWeight: 10,
    });
    const all = [1, 2, 3].map((n) => c.submit(n));
    expect(flushed).toEqual([[1], [2]]);
    while (releases.length) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(flushed).toEqual([[1], [2], [3]]);
  });

  it('shares the regular slots among active lanes: a busy lane keeps one of two while another is active, both when alone', async () => {
    const flushed: string[][] = [];
    const releases: (() => void)[] = [];
    const c = new Coalescer<string>({
      flush: (items) => {
        flushed.push(items);
        return new Promise((r) => releases.push(r));
      },
      maxWeight: 1,
      maxParallel: 2,
      lane: (item) => item[0],
    });
    // Lane a alone: two flushes in flight.
    const alone = ['a1', 'a2'].map((s) => c.submit(s));
    expect(flushed).toEqual([['a1'], ['a2']]);
    releases.splice(0).forEach((r) => r());
    await Promise.all(alone);
    // Lane b active too: a holds one slot, the other is b's.
    const both = ['b1', 'a3', 'a4', 'a5'].map((s) => c.submit(s));
    expect(flushed.slice(2)).toEqual([['b1'], ['a3']]);
    releases.shift()!(); // b1 done: its slot stays free of a while b is active
    await new Promise((r) => setImmediate(r));
    expect(flushed.slice(2)).toEqual([['b1'], ['a3']]);
    releases.shift()!(); // a3 done: a's next
    await new Promise((r) => setImmediate(r));
    expect(flushed.slice(2)).toEqual([['b1'], ['a3'], ['a4']]);
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    releases.shift()!();
    await Promise.all(both);
    expect(flushed.slice(2)).toEqual([['b1'], ['a3'], ['a4'], ['a5']]);
  });

  it('weighs each item once', async () => {
    let weighed = 0;
    const c = new Coalescer<number>({
      flush: async () => undefined,
      maxWeight: 2,
      maxParallel: 1,
      weigh: () => ++weighed && 1,
      lane: (n) => n % 2,
      expressWeight: 0,
    });
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => c.submit(n)));
    expect(weighed).toBe(6);
  });
});
