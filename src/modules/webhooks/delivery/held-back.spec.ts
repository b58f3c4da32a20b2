import { HeldBack, HeldGroup } from './held-back';

const scope = { orgId: 1, projectId: 2 };

describe('deliveries held back by their webhook', () => {
  it('gather per webhook and kind within the window and go back to the queue together', async () => {
    const queued: HeldGroup[] = [];
    const held = new HeldBack(50, async (g) => void queued.push(g));
    const settled: string[] = [];
    const waits = [
      held.hold('wait', scope, 7, [1, 2], 0, 5_000).then(() => settled.push('a')),
      held.hold('wait', scope, 7, [3], 2, 9_000).then(() => settled.push('b')),
      held.hold('wait', scope, 7, [4], 1, 6_000).then(() => settled.push('c')),
    ];
    const asides = [held.hold('aside', scope, 7, [5], 'busy', 3_000), held.hold('aside', scope, 7, [6], 'busy', 2_000)];
    const other = held.hold('wait', scope, 8, [9], 0, 1_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(queued).toEqual([]); // nothing goes back before the window ends
    expect(settled).toEqual([]); // and no job holding them completes before that
    await Promise.all([...waits, ...asides, other]);
    expect(settled.sort()).toEqual(['a', 'b', 'c']);
    expect(queued).toHaveLength(3);
    // Waiting ones are due when the last of them is, with the most attempts made.
    expect(queued.find((g) => g.kind === 'wait' && g.webhookId === 7)).toEqual({ kind: 'wait', scope, webhookId: 7, ids: [1, 2, 3, 4], attempts: 2, due: 9_000 });
    // Those stepping aside come back when the first of them may.
    expect(queued.find((g) => g.kind === 'aside')).toMatchObject({ webhookId: 7, ids: [5, 6], attempts: 'busy', due: 2_000 });
    expect(queued.find((g) => g.webhookId === 8)).toMatchObject({ ids: [9] });
  });

  it('start a new group after the window, and fail every holder when queueing fails', async () => {
    let calls = 0;
    const held = new HeldBack(20, async () => {
      if (++calls === 1) throw new Error('redis down');
    });
    const first = [held.hold('wait', scope, 7, [1], 0, 0), held.hold('wait', scope, 7, [2], 0, 0)];
    for (const p of first) await expect(p).rejects.toThrow('redis down');
    await expect(held.hold('wait', scope, 7, [3], 0, 0)).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});
