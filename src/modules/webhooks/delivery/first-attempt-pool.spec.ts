import { DELIVERY_RETRY_MS } from '../jobs/deliver-webhook.job';
import { FirstAttemptPool } from './first-attempt-pool';

const scope = { orgId: 1, projectId: 2 };
const settle = () => new Promise((r) => setImmediate(r));

/** A pool whose attempts end when the test says so, with a queue that records what it is given. */
function setUp(limit = 2) {
  const pending: { ids: number[]; end: (err?: Error) => void }[] = [];
  const queued: { ids: number[]; delayMs: number }[] = [];
  const state = { draining: false, queueFails: false };
  const pool = new FirstAttemptPool(
    {
      attempt: (_, __, ids) => new Promise<void>((resolve, reject) => pending.push({ ids, end: (err) => (err ? reject(err) : resolve()) })),
      queue: async (_, __, ids, delayMs) => {
        if (state.queueFails) throw new Error('Redis is down');
        queued.push({ ids, delayMs });
      },
      draining: () => state.draining,
      warn: () => undefined,
    },
    limit,
  );
  return { pool, pending, queued, state };
}

describe('first attempts made by the worker that committed the deliveries', () => {
  it('start at once up to the limit; past it, and while the process drains, the caller queues them', async () => {
    const { pool, pending, state } = setUp(2);
    expect(pool.start(scope, 7, [1])).toBe(true);
    expect(pool.start(scope, 7, [2, 3])).toBe(true);
    expect(pool.start(scope, 8, [4])).toBe(false);
    expect(pending.map((p) => p.ids)).toEqual([[1], [2, 3]]);
    pending[0].end();
    await settle();
    expect(pool.start(scope, 8, [4])).toBe(true);
    state.draining = true;
    pending[1].end();
    await settle();
    expect(pool.start(scope, 8, [5])).toBe(false);
  });

  it('an attempt that fails on our side is queued as a job, a second later; if that fails too, nothing throws', async () => {
    const { pool, pending, queued, state } = setUp();
    expect(pool.start(scope, 7, [1, 2])).toBe(true);
    pending[0].end(new Error('connection terminated'));
    await settle();
    expect(queued).toEqual([{ ids: [1, 2], delayMs: DELIVERY_RETRY_MS }]);
    state.queueFails = true;
    expect(pool.start(scope, 7, [3])).toBe(true);
    pending[1].end(new Error('connection terminated'));
    await settle();
    expect(queued).toHaveLength(1);
    expect(pool.start(scope, 7, [4])).toBe(true); // its slot was freed
  });

  it('close waits for the attempts in flight and takes no more', async () => {
    const { pool, pending } = setUp();
    pool.start(scope, 7, [1]);
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    expect(pool.start(scope, 7, [2])).toBe(false);
    pending[0].end();
    await closing;
    expect(closed).toBe(true);
  });

  it('more deliveries than a job holds are left to the queue', () => {
    expect(setUp().pool.start(scope, 7, Array.from({ length: 101 }, (_, i) => i + 1))).toBe(false);
  });
});
