import { LARGE_BODY_BYTES, LargeBodyCollector } from './large-body-collector';

describe('LargeBodyCollector', () => {
  it('collects once every so many bytes of large bodies, never for everyday ones', () => {
    let collections = 0;
    const c = new LargeBodyCollector(3 * LARGE_BODY_BYTES, () => collections++);
    for (let i = 0; i < 1000; i++) c.handled(LARGE_BODY_BYTES - 1);
    expect(collections).toBe(0);
    c.handled(LARGE_BODY_BYTES);
    c.handled(LARGE_BODY_BYTES);
    expect(collections).toBe(0);
    c.handled(LARGE_BODY_BYTES);
    expect(collections).toBe(1);
    c.handled(10 * LARGE_BODY_BYTES);
    expect(collections).toBe(2);
  });

  it('reaches V8 without a command-line flag', () => {
    const before = process.memoryUsage().heapUsed;
    let garbage: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    expect(garbage.length).toBe(200_000);
    garbage = null;
    new LargeBodyCollector(LARGE_BODY_BYTES).handled(LARGE_BODY_BYTES);
    expect(process.memoryUsage().heapUsed).toBeLessThan(before + 5_000_000);
  });
});
