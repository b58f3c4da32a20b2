import { Injectable } from '@nestjs/common';
import { Coalescer } from '../../../core/database/coalescer';
import { Metrics } from '../../../core/metrics/metrics.service';
import { ReadingRow, ReadingsRepository } from '../readings.repository';

/** Flushes above this many rows are split, to keep one statement's parameters reasonable. */
const MAX_ROWS_PER_FLUSH = 20_000;

/** A reading's identity as a string; `ts` is ISO-8601 UTC with milliseconds, as normalised. */
export const readingKey = (deviceId: number, ts: string, eventId: string): string => `${deviceId}|${ts}|${eventId}`;

/**
 * Writes queued readings durably, coalescing concurrent callers: with a deep queue the worker
 * runs many ingest jobs at once, so small jobs turn into large inserts by themselves; with a
 * shallow one a write goes out at once. A caller's promise resolves when its readings are
 * committed (new ones stored, duplicates skipped).
 */
@Injectable()
export class ReadingWriter {
  private readonly coalescer: Coalescer<readonly ReadingRow[]>;

  constructor(repo: ReadingsRepository, metrics: Metrics) {
    this.coalescer = new Coalescer({
      flush: async (batches) => void metrics.readingsStored.inc(await repo.insertMany(batches.flat(), 'count')),
      maxWeight: MAX_ROWS_PER_FLUSH,
      weigh: (rows) => rows.length,
    });
  }

  write(rows: readonly ReadingRow[]): Promise<void> {
    return rows.length ? this.coalescer.submit(rows) : Promise.resolve();
  }
}
