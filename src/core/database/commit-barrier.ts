import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Coalescer } from './coalescer';

/**
 * How a statement commits: `durable` waits for its WAL flush (Postgres's default);
 * `visible` does not (`synchronous_commit` off for its transaction), so other sessions see
 * its rows at once and its caller waits for a `CommitBarrier` before counting them durable.
 */
export type CommitMode = 'durable' | 'visible';

/**
 * A FROM item that makes a statement commit `visible`: `synchronous_commit` off for its own
 * transaction only (a statement run on its own, outside an explicit transaction).
 */
export const COMMIT_VISIBLE = `(SELECT set_config('synchronous_commit', 'off', true)) AS commit_mode`;

/**
 * Resolves once every commit this process made before the call is on disk. Postgres's WAL is
 * one sequence flushed in order, so a synchronously committed transaction that starts after
 * those commits flushes them too: the barrier is a transactional logical message (a WAL
 * record of a few bytes, an xid, no table, no lock, any role may send it) committed with the
 * session's `synchronous_commit` (so also as far as a synchronous standby, if one is set).
 * Callers coalesce: while one barrier is in flight, the next gathers everyone who asked
 * meanwhile, so each waiter's barrier starts after its call and one flush serves them all.
 * docs/ingest.md, "Visible first, durable before the job is acknowledged".
 */
@Injectable()
export class CommitBarrier {
  private readonly barriers = new Coalescer<null>({ flush: () => this.flush(), maxWeight: Infinity, maxParallel: 1 });

  constructor(private readonly ds: DataSource) {}

  wait(): Promise<void> {
    return this.barriers.submit(null);
  }

  private async flush(): Promise<void> {
    await this.ds.query(`SELECT pg_logical_emit_message(true, 'watchpost', 'commit barrier')`);
  }
}
