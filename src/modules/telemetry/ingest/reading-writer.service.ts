import { Injectable, Logger } from '@nestjs/common';
import { Coalescer } from '../../../core/database/coalescer';
import { CommitBarrier } from '../../../core/database/commit-barrier';
import { Metrics } from '../../../core/metrics/metrics.service';
import type { HasRollups } from '../../analytics/freshness/rollup-changes';
import { RollupFreshnessService } from '../../analytics/freshness/rollup-freshness.service';
import { FailedReadingsRepository } from '../failed-readings.repository';
import type { ReadingRow } from '../reading-row';
import { batchWeight, SMALL_BATCH_WEIGHT } from './batch-weight';
import { ReadingsRepository } from '../readings.repository';

/**
 * Most weight per flush: a reading weighs one plus the keys of its data, so a flush of wide
 * events is no longer than one of many narrow readings (20,000 readings of two metrics, the
 * flush size ingestion throughput was tuned with).
 */
const MAX_WEIGHT_PER_FLUSH = 60_000;


/** A reading's identity as a string (DESIGN.md: a reading is identified by (device, event_id)). */
export const readingKey = (deviceId: number, eventId: string): string => `${deviceId}|${eventId}`;

/**
 * SQLSTATE classes of a statement refused for what a row holds, not for the state of the
 * database: 22 data exception (NUL, a lone surrogate in JSON, a time out of range, a string
 * too long), 54 program limit exceeded (a value too large). Anything else (an outage, a
 * deadlock) fails the write, and the job is retried whole.
 */
const REFUSED_DATA = /^(22|54)/;

function refusedData(err: unknown): { code: string; reason: string } | null {
  const e = err as { code?: unknown; driverError?: { code?: unknown }; message?: string };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.driverError?.code === 'string' ? e.driverError.code : null;
  return code && REFUSED_DATA.test(code) ? { code, reason: e.message ?? String(err) } : null;
}

export interface WriteOutcome {
  /** Identities (readingKey) stored by this write. */
  stored: Set<string>;
  /** Identities the database refused: kept in failed_readings. */
  failed: Set<string>;
}

/**
 * Writes queued readings, coalescing concurrent callers: with a deep queue the worker
 * runs many ingest jobs at once, so small jobs turn into large inserts by themselves; with a
 * shallow one a write goes out at once. Flushes take the projects' jobs in turn, and small
 * batches have a flush slot of their own. A caller's promise resolves when its readings are
 * committed and visible (new ones stored, duplicates skipped, refused ones kept in
 * failed_readings: see `insertIsolating`), before the commit is flushed to disk: the caller
 * awaits `durable()` before it acknowledges them. A flush that marked hours for a rebuild (a
 * backfill) then queues their catch-up (docs/analytics.md). docs/ingest.md.
 */
@Injectable()
export class ReadingWriter {
  private readonly logger = new Logger('ReadingWriter');
  private readonly coalescer: Coalescer<readonly ReadingRow[]>;

  constructor(
    private readonly repo: ReadingsRepository,
    private readonly failures: FailedReadingsRepository,
    private readonly metrics: Metrics,
    private readonly rollups: RollupFreshnessService,
    private readonly barrier: CommitBarrier,
  ) {
    this.coalescer = new Coalescer<readonly ReadingRow[]>({
      flush: async (batches) => this.insert(batches.flat(), 'count'),
      maxWeight: MAX_WEIGHT_PER_FLUSH,
      weigh: batchWeight,
      lane: (rows) => rows[0].projectId,
      // Small batches also have a flush slot of their own, so another project's one-reading
      // batch is stored while large flushes are in flight, not after them.
      expressWeight: SMALL_BATCH_WEIGHT,
    });
  }

  /**
   * The worker's path: coalesced with other jobs, committed without waiting for the WAL
   * flush, so neither the readings' visibility nor the next flush waits for another
   * project's WAL to reach the disk. Not durable until `durable()` resolves.
   */
  write(rows: readonly ReadingRow[]): Promise<void> {
    return rows.length ? this.coalescer.submit(rows) : Promise.resolve();
  }

  /** Resolves once every write this process committed before the call is on disk. */
  durable(): Promise<void> {
    return this.barrier.wait();
  }

  /**
   * wait=true: the batch's own statement, so the database decides which of concurrent senders
   * stored a reading. Committed visible, as `write`: its caller waits for `durable()` before it
   * answers, and that one flush also covers the batch's arrival (committed visible too).
   */
  async writeNow(rows: readonly ReadingRow[]): Promise<WriteOutcome> {
    const out: WriteOutcome = { stored: new Set(), failed: new Set() };
    await this.insert(rows, 'keys', out);
    return out;
  }

  /**
   * One flush: the rows' new metrics admitted to rollups where their project has room (before
   * the statement, so a metric with rollups has a delta or mark for each of its numbers),
   * `insertIsolating`, then the catch-up of whatever its committed statements marked.
   */
  private async insert(rows: readonly ReadingRow[], mode: 'count' | 'keys', out?: WriteOutcome): Promise<void> {
    const marked = new Set<number>();
    const hasRollups = await this.rollups.admit(rows);
    try {
      await this.insertIsolating(rows, mode, marked, hasRollups, out);
    } finally {
      if (marked.size) await this.rollups.catchUpSoon([...marked]);
    }
  }

  /**
   * Inserts `rows`; when Postgres refuses the statement for what a row holds, splits it in
   * halves and retries each, down to the single rows it refuses, which are kept in
   * failed_readings with the reason (and counted) instead of failing their batch for good:
   * n rows with one poison row cost about 2·log2(n) statements.
   */
  private async insertIsolating(rows: readonly ReadingRow[], mode: 'count' | 'keys', marked: Set<number>, hasRollups: HasRollups, out?: WriteOutcome): Promise<void> {
    try {
      if (mode === 'count') this.metrics.readingsStored.inc(await this.repo.insertMany(rows, 'count', { marked, hasRollups, commit: 'visible' }));
      else {
        const keys = await this.repo.insertMany(rows, 'keys', { marked, hasRollups, commit: 'visible' });
        this.metrics.readingsStored.inc(keys.length);
        for (const k of keys) out?.stored.add(readingKey(Number(k.device_id), k.event_id));
      }
    } catch (err) {
      const refused = refusedData(err);
      if (!refused) throw err;
      if (rows.length > 1) {
        const half = rows.length >> 1;
        await this.insertIsolating(rows.slice(0, half), mode, marked, hasRollups, out);
        await this.insertIsolating(rows.slice(half), mode, marked, hasRollups, out);
        return;
      }
      const [row] = rows;
      if (await this.failures.record({ reading: row, ...refused })) this.metrics.readingsFailed.inc();
      out?.failed.add(readingKey(row.deviceId, row.eventId));
      this.logger.warn(`reading ${JSON.stringify(row.eventId)} of device ${row.deviceId} refused (${refused.code}: ${refused.reason}); kept in failed_readings`);
    }
  }
}
