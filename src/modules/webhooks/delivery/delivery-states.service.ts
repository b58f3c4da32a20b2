import { Injectable } from '@nestjs/common';
import { Coalescer } from '../../../core/database/coalescer';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { AttemptResult, ClaimedDelivery, WebhookDeliveriesRepository } from '../webhook-deliveries.repository';

/** Rows per statement; far above what concurrent sends produce, it only bounds parameters. */
const MAX_BATCH = 500;
/**
 * One statement of each kind in flight at a time: the next batch gathers while it runs, so
 * under load batches grow instead of statements multiplying (each costs the worker a socket
 * write, which is most of what it costs). Measured: 2 in flight → 1.4–2.8 rows a statement.
 */
const PARALLEL = 1;

type Claim = { scope: TenantScope; id: number; leaseMs: number };
type Waiting = { id: number; attempts: number; next_attempt_at: Date };

/**
 * The two writes every attempt makes (claim before, outcome after), and the one a delivery
 * held back by an open circuit makes, coalesced across the worker's concurrent jobs: under
 * load each becomes one statement and one commit for many deliveries instead of one each,
 * which is most of what a delivery costs the database.
 */
@Injectable()
export class DeliveryStates {
  private readonly claims: Coalescer<Claim, ClaimedDelivery | null>;
  private readonly finishes: Coalescer<{ scope: TenantScope; id: number; result: AttemptResult }>;
  private readonly postpones: Coalescer<{ scope: TenantScope; id: number; until: Date }, Waiting | null>;

  constructor(repo: WebhookDeliveriesRepository) {
    this.claims = new Coalescer({
      flush: async (items) => {
        const rows = await repo.claimMany(items, Math.max(...items.map((c) => c.leaseMs)));
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        // A delivery asked for twice in one batch (a duplicate job) goes to the first asker only.
        return items.map((c) => {
          const row = byId.get(c.id) ?? null;
          byId.delete(c.id);
          return row;
        });
      },
      maxWeight: MAX_BATCH,
      maxParallel: PARALLEL,
    });
    this.finishes = new Coalescer({ flush: (items) => repo.finishMany(items), maxWeight: MAX_BATCH, maxParallel: PARALLEL });
    this.postpones = new Coalescer({
      flush: async (items) => {
        const rows = await repo.postponeMany(items);
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        return items.map((i) => byId.get(i.id) ?? null);
      },
      maxWeight: MAX_BATCH,
      maxParallel: PARALLEL,
    });
  }

  /** Postpones a waiting delivery (open circuit, pacing turn), see WebhookDeliveriesRepository.postponeMany. */
  postpone(scope: TenantScope, id: number, until: Date): Promise<Waiting | null> {
    return this.postpones.submit({ scope, id, until });
  }

  claim(scope: TenantScope, id: number, leaseMs: number): Promise<ClaimedDelivery | null> {
    return this.claims.submit({ scope, id, leaseMs });
  }

  finish(scope: TenantScope, id: number, result: AttemptResult): Promise<void> {
    return this.finishes.submit({ scope, id, result });
  }
}
