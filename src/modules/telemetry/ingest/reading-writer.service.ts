import { Injectable } from '@nestjs/common';
import { ReadingRow, ReadingsRepository } from '../readings.repository';

interface Pending {
  rows: readonly ReadingRow[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Flushes above this many rows are split, to keep one statement's parameters reasonable. */
const MAX_ROWS_PER_FLUSH = 20_000;
/** Statements in flight at once; more would only queue on a 2-core database. */
const MAX_PARALLEL_FLUSHES = 2;

/** A reading's identity as a string; `ts` is ISO-8601 UTC with milliseconds, as normalised. */
export const readingKey = (deviceId: number, ts: string, eventId: string): string => `${deviceId}|${ts}|${eventId}`;

/**
 * Writes queued readings durably, coalescing concurrent callers: while a flush is in flight,
 * new writes gather, and the next flush inserts them all in one statement. With a deep queue
 * the worker runs many ingest jobs at once, so small jobs turn into large inserts by
 * themselves; with a shallow one a write goes out at once. A caller's promise resolves when
 * its readings are committed (new ones stored, duplicates skipped).
 */
@Injectable()
export class ReadingWriter {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(private readonly repo: ReadingsRepository) {}

  write(rows: readonly ReadingRow[]): Promise<void> {
    if (!rows.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_PARALLEL_FLUSHES && this.queue.length) {
      const batch: Pending[] = [];
      let size = 0;
      while (this.queue.length && (size === 0 || size + this.queue[0].rows.length <= MAX_ROWS_PER_FLUSH)) {
        const next = this.queue.shift()!;
        batch.push(next);
        size += next.rows.length;
      }
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      await this.repo.insertMany(
        batch.flatMap((p) => p.rows),
        'count',
      );
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
