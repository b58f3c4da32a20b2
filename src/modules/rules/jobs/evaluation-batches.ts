/** Pure scheduling: which waiting evaluations go together. Unit-tested beside. */

/** Transactions at once: as many as the evaluations a worker ran in parallel before batching. */
export const MAX_RUNNING = 8;
/** Devices per transaction (one commit, one read of rules, timer rows and alert states). */
export const MAX_BATCH = 50;

interface Waiter<T, R> {
  item: T;
  resolve: (r: R | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * Groups evaluations that wait at the same time: an item submitted while fewer than MAX_RUNNING
 * batches run starts a batch of its own at once (no wait added to an alert when the worker
 * keeps up); once MAX_RUNNING run, items wait, and the next batch to start takes up to MAX_BATCH
 * of them. So batches grow with the backlog and only then (docs/rules.md, "Evaluations in
 * batches"). `run` answers each item's result by its key; a failed `run` fails its batch's items.
 */
export class Batches<T, R> {
  private readonly waiting: Waiter<T, R>[] = [];
  private running = 0;

  constructor(
    private readonly run: (items: T[]) => Promise<Map<number, R>>,
    private readonly keyOf: (item: T) => number,
    private readonly limits = { running: MAX_RUNNING, batch: MAX_BATCH },
  ) {}

  submit(item: T): Promise<R | undefined> {
    return new Promise<R | undefined>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.limits.running && this.waiting.length) {
      const batch = this.waiting.splice(0, this.limits.batch);
      this.running++;
      this.run(batch.map((w) => w.item))
        .then(
          (results) => {
            for (const w of batch) w.resolve(results.get(this.keyOf(w.item)));
          },
          (err) => batch.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
