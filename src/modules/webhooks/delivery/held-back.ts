import type { TenantScope } from '../../../core/tenancy/tenant-scope';

/**
 * Why deliveries go back to the queue without an attempt: their webhook's circuit is open
 * (`wait`: their rows say until when), or its sends are hanging or crowded (`aside`).
 */
export type HoldKind = 'wait' | 'aside';

/** Deliveries of one webhook held back the same way, to be queued again together. */
export interface HeldGroup {
  kind: HoldKind;
  scope: TenantScope;
  webhookId: number;
  ids: number[];
  /** The most attempts any of them made, or a tag for a turn that is not an attempt's. */
  attempts: number | string;
  /** When they are due: waiting ones when the last is, those stepping aside when the first is. */
  due: number;
}

/**
 * Gathers the deliveries that a webhook's jobs hold back for `windowMs`, then hands each
 * webhook's group (per kind) to `requeue` at once: while an endpoint is down, its deliveries
 * go back to the queue as a few large jobs instead of one per alert change, and each of those
 * is fetched, checked against the circuit and put back again for as long as it stays down.
 * `hold` settles when its group was queued again, so the job that held the deliveries
 * completes only then: a crash in between loses nothing (Bull runs that job again).
 */
export class HeldBack {
  private readonly open = new Map<string, { group: HeldGroup; queued: Promise<unknown> }>();

  constructor(
    private readonly windowMs: number,
    private readonly requeue: (group: HeldGroup) => Promise<unknown>,
  ) {}

  hold(kind: HoldKind, scope: TenantScope, webhookId: number, ids: number[], attempts: number | string, due: number): Promise<unknown> {
    const key = `${kind}:${webhookId}`;
    let entry = this.open.get(key);
    if (!entry) {
      const group: HeldGroup = { kind, scope, webhookId, ids: [], attempts, due };
      const queued = new Promise((r) => setTimeout(r, this.windowMs)).then(() => {
        this.open.delete(key);
        return this.requeue(group);
      });
      entry = { group, queued };
      this.open.set(key, entry);
    }
    const { group } = entry;
    group.ids.push(...ids);
    if (typeof attempts === 'number' && typeof group.attempts === 'number') group.attempts = Math.max(group.attempts, attempts);
    group.due = kind === 'wait' ? Math.max(group.due, due) : Math.min(group.due, due);
    return entry.queued;
  }
}
