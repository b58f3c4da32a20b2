interface Pending<I, O> {
  item: I;
  /** Weighed once, when submitted: `weigh` may be costly (a wide reading's keys). */
  weight: number;
  lane: string | number;
  resolve: (result: O) => void;
  reject: (err: unknown) => void;
}

/** A lane that submitted within this long counts as active when the regular slots are shared out. */
const LANE_ACTIVE_MS = 1_000;

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
   * so one lane's backlog cannot keep another's item out of the next flush, and the regular
   * flush slots are shared out among the lanes active in the last second: a lane holds at
   * most maxParallel / (active lanes) of them (at least one), so while another lane is
   * active, one lane's large flushes keep part of the database free for it (docs/ingest.md,
   * "Fairness between projects"). A lane alone uses every slot.
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
  /** Per lane: regular flushes in flight holding its items. */
  private readonly laneFlights = new Map<string | number, number>();
  /** Per lane: when it last submitted. */
  private readonly laneSeen = new Map<string | number, number>();

  constructor(private readonly options: CoalescerOptions<I, O>) {
    this.weigh = options.weigh ?? (() => 1);
    this.maxParallel = options.maxParallel ?? 2;
  }

  submit(item: I): Promise<O> {
    const lane = this.options.lane ? this.options.lane(item) : 0;
    if (this.options.lane) this.laneSeen.set(lane, Date.now());
    return new Promise((resolve, reject) => {
      this.queue.push({ item, weight: this.weigh(item), lane, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    const { expressWeight } = this.options;
    while (this.inFlight < this.maxParallel && this.queue.length) {
      const batch = this.takeRegular();
      if (!batch.length) break;
      const lanes = new Set(batch.map((p) => p.lane));
      for (const l of lanes) this.laneFlights.set(l, (this.laneFlights.get(l) ?? 0) + 1);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        for (const l of lanes) {
          const n = this.laneFlights.get(l)! - 1;
          if (n) this.laneFlights.set(l, n);
          else this.laneFlights.delete(l);
        }
        this.pump();
      });
    }
    if (expressWeight === undefined || this.expressInFlight || !this.queue.length) return;
    const batch = this.takeByLane(expressWeight, (p) => p.weight <= expressWeight);
    if (!batch.length) return;
    this.expressInFlight = true;
    void this.flush(batch).finally(() => {
      this.expressInFlight = false;
      this.pump();
    });
  }

  /**
   * The next regular flush: items of lanes under their share of the slots; with an express
   * slot, only the large ones of those while any waits (a small write never waits behind
   * large ones).
   */
  private takeRegular(): Pending<I, O>[] {
    const { lane, expressWeight } = this.options;
    if (!lane && expressWeight === undefined) return this.takeInOrder();
    const share = lane ? this.laneShare() : Infinity;
    const open = (p: Pending<I, O>) => (this.laneFlights.get(p.lane) ?? 0) < share;
    const large = (p: Pending<I, O>) => expressWeight !== undefined && p.weight > expressWeight;
    const onlyLarge = this.queue.some((p) => large(p) && open(p));
    return this.takeByLane(this.options.maxWeight, (p) => open(p) && (!onlyLarge || large(p)));
  }

  /** How many regular slots one lane may hold: the slots shared among the lanes active lately. */
  private laneShare(): number {
    const since = Date.now() - LANE_ACTIVE_MS;
    for (const [l, at] of this.laneSeen) if (at < since && !this.laneFlights.has(l)) this.laneSeen.delete(l);
    return Math.max(1, Math.floor(this.maxParallel / Math.max(1, this.laneSeen.size)));
  }

  private takeInOrder(): Pending<I, O>[] {
    const batch: Pending<I, O>[] = [];
    let weight = 0;
    while (this.queue.length && (weight === 0 || weight + this.queue[0].weight <= this.options.maxWeight)) {
      const next = this.queue.shift()!;
      batch.push(next);
      weight += next.weight;
    }
    return batch;
  }

  /** One eligible item of each lane per round (lanes in the order of their oldest item), up to `maxWeight`. */
  private takeByLane(maxWeight: number, eligible: (p: Pending<I, O>) => boolean): Pending<I, O>[] {
    const lanes = new Map<string | number, Pending<I, O>[]>();
    for (const p of this.queue) {
      if (!eligible(p)) continue;
      const lane = lanes.get(p.lane);
      if (lane) lane.push(p);
      else lanes.set(p.lane, [p]);
    }
    if (!lanes.size) return [];
    const taken = new Set<Pending<I, O>>();
    let weight = 0;
    for (let more = true; more; ) {
      more = false;
      for (const lane of lanes.values()) {
        if (!lane.length) continue;
        const w = lane[0].weight;
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
