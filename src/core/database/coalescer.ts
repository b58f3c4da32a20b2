interface Pending<I, O> {
  item: I;
  resolve: (result: O) => void;
  reject: (err: unknown) => void;
}

export interface CoalescerOptions<I, O> {
  /** Writes a batch in one statement (and one commit); the results, if any, in item order. */
  flush: (items: I[]) => Promise<O[] | void>;
  /** Most weight (rows, say) per flush; a single heavier item still goes alone. */
  maxWeight: number;
  weigh?: (item: I) => number;
  /** Flushes in flight at once; more would only queue on a small database. */
  maxParallel?: number;
  /**
   * Whose an item is (a tenant, say). With lanes, a flush takes items from each lane in turn,
   * so one lane's backlog cannot keep another's item out of the next flush.
   */
  lane?: (item: I) => string | number;
  /**
   * One more flush in flight, for small items only (each and all together at most this
   * weight); while large items wait, the regular flushes take only those: a small write never
   * waits behind large ones.
   */
  expressWeight?: number;
}

/**
 * Turns many concurrent small writes into few large ones: while a flush is in flight, new
 * items gather, and the next flush writes them all in one statement. Under load, batches
 * grow by themselves; when quiet, an item goes out at once (no timer, no added latency).
 * Each caller's promise settles with its batch's commit.
 */
export class Coalescer<I, O = void> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private expressInFlight = false;
  private readonly weigh: (item: I) => number;
  private readonly maxParallel: number;

  constructor(private readonly options: CoalescerOptions<I, O>) {
    this.weigh = options.weigh ?? (() => 1);
    this.maxParallel = options.maxParallel ?? 2;
  }

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    const { lane, expressWeight } = this.options;
    while (this.inFlight < this.maxParallel && this.queue.length) {
      // With an express slot, a regular flush leaves the small items to it while large ones wait.
      const large = expressWeight === undefined ? null : (item: I) => this.weigh(item) > expressWeight;
      const onlyLarge = large !== null && this.queue.some((p) => large(p.item));
      const batch = lane || large ? this.takeByLane(lane ?? (() => 0), this.options.maxWeight, onlyLarge ? large : undefined) : this.takeInOrder();
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
    if (expressWeight === undefined || this.expressInFlight || !this.queue.length) return;
    const batch = this.takeByLane(lane ?? (() => 0), expressWeight, (item) => this.weigh(item) <= expressWeight);
    if (!batch.length) return;
    this.expressInFlight = true;
    void this.flush(batch).finally(() => {
      this.expressInFlight = false;
      this.pump();
    });
  }

  private takeInOrder(): Pending<I, O>[] {
    const batch: Pending<I, O>[] = [];
    let weight = 0;
    while (this.queue.length && (weight === 0 || weight + this.weigh(this.queue[0].item) <= this.options.maxWeight)) {
      const next = this.queue.shift()!;
      batch.push(next);
      weight += this.weigh(next.item);
    }
    return batch;
  }

  /** One item of each lane per round (lanes in the order of their oldest item), up to `maxWeight`. */
  private takeByLane(laneOf: (item: I) => string | number, maxWeight: number, eligible: (item: I) => boolean = () => true): Pending<I, O>[] {
    const lanes = new Map<string | number, Pending<I, O>[]>();
    for (const p of this.queue) {
      if (!eligible(p.item)) continue;
      const key = laneOf(p.item);
      const lane = lanes.get(key);
      if (lane) lane.push(p);
      else lanes.set(key, [p]);
    }
    const taken = new Set<Pending<I, O>>();
    let weight = 0;
    for (let more = true; more; ) {
      more = false;
      for (const lane of lanes.values()) {
        if (!lane.length) continue;
        const w = this.weigh(lane[0].item);
        if (weight > 0 && weight + w > maxWeight) continue;
        taken.add(lane.shift()!);
        weight += w;
        more = true;
      }
    }
    this.queue = this.queue.filter((p) => !taken.has(p));
    return [...taken];
  }

  private async flush(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.options.flush(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve((results ? results[i] : undefined) as O));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
