import { Slots } from './slots';

describe('per-webhook send slots', () => {
  afterEach(() => jest.useRealTimers());

  it('start at 16, grow by one per success up to 48, and fall back to 16 on a failure', async () => {
    const slots = new Slots();
    expect(slots.size).toBe(16);
    for (let i = 0; i < 40; i++) {
      await slots.acquire();
      slots.release(true);
    }
    expect(slots.size).toBe(48);
    await slots.acquire();
    slots.release(false);
    expect(slots.size).toBe(16);
  });

  it('serve waiters in order while sends keep finishing, more at once as the size grows', async () => {
    const slots = new Slots();
    for (let i = 0; i < 16; i++) expect(await slots.acquire()).toBe(true);
    const served: number[] = [];
    const waiters = [0, 1, 2].map((n) => slots.acquire().then((ok) => ok && served.push(n)));
    expect(slots.full).toBe(true);
    slots.release(true); // size 17 and one slot freed: two waiters get in
    await Promise.resolve();
    expect(served).toEqual([0, 1]);
    slots.release(null);
    await Promise.all(waiters);
    expect(served).toEqual([0, 1, 2]);
  });

  it('turn every waiter away when no send has finished for 500 ms (a hanging endpoint)', async () => {
    jest.useFakeTimers();
    const slots = new Slots();
    for (let i = 0; i < 16; i++) await slots.acquire();
    const waiting = [slots.acquire(), slots.acquire()];
    jest.advanceTimersByTime(400);
    expect(slots.waiting).toBe(2);
    jest.advanceTimersByTime(400);
    expect(await Promise.all(waiting)).toEqual([false, false]);
    expect(slots.stalled).toBe(true);
  });
});
