import { Batches } from './evaluation-batches';

/** A `run` whose calls the test finishes by hand. */
function harness(limits: { running: number; batch: number }) {
  const calls: { items: number[]; finish: (fail?: Error) => void }[] = [];
  const batches = new Batches<number, string>(
    (items) =>
      new Promise((resolve, reject) => {
        calls.push({ items, finish: (fail) => (fail ? reject(fail) : resolve(new Map(items.map((i) => [i, `done ${i}`])))) });
      }),
    (i) => i,
    limits,
  );
  return { batches, calls };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Batches: evaluations that wait at the same time go together', () => {
  it('starts an item at once while fewer than the limit run, so a lone evaluation never waits', async () => {
    const { batches, calls } = harness({ running: 2, batch: 50 });
    const one = batches.submit(1);
    const two = batches.submit(2);
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    calls[0].finish();
    calls[1].finish();
    await expect(one).resolves.toBe('done 1');
    await expect(two).resolves.toBe('done 2');
  });

  it('once the limit runs, items wait and the next batch takes up to the batch size of them', async () => {
    const { batches, calls } = harness({ running: 1, batch: 3 });
    const results = [1, 2, 3, 4, 5, 6].map((i) => batches.submit(i));
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0].finish();
    await settle();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1].finish();
    await settle();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4], [5, 6]]);
    calls[2].finish();
    await expect(Promise.all(results)).resolves.toEqual([1, 2, 3, 4, 5, 6].map((i) => `done ${i}`));
  });

  it("a failed batch fails its own items only, and the next batch still starts", async () => {
    const { batches, calls } = harness({ running: 1, batch: 2 });
    const first = batches.submit(1);
    const waiting = [2, 3].map((i) => batches.submit(i));
    const later = batches.submit(4);
    calls[0].finish(new Error('Postgres is away'));
    await expect(first).rejects.toThrow('Postgres is away');
    await settle();
    calls[1].finish();
    await expect(Promise.all(waiting)).resolves.toEqual(['done 2', 'done 3']);
    await settle();
    calls[2].finish();
    await expect(later).resolves.toBe('done 4');
  });

  it('an item its batch answered nothing for gets undefined at once, for its caller to deal with', async () => {
    const batches = new Batches<number, string>(async (items) => new Map(items.filter((i) => i !== 9).map((i) => [i, `done ${i}`])), (i) => i, { running: 1, batch: 5 });
    await expect(Promise.all([batches.submit(1), batches.submit(9)])).resolves.toEqual(['done 1', undefined]);
  });
});
