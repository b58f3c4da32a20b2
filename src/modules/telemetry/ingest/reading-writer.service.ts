import { Injectable } from '@nestjs/common';
import { ReadingRow, ReadingsRepository } from '../readings.repository';

interface Pending {
  rows: readonly ReadingRow[];
  resolve: (stored: Set<string>) => void;
  reject: (err: unknown) => void;
}

/** Flushes above this many rows are split, to keep one statement's parameters reasonable. */
const MAX_ROWS_PER_FLUSH = 20_000;
/** Statements in flight at once; more would only queue on a 2-core database. */
const MAX_PARALLEL_FLUSHES = 2;

/** A reading's identity as a string; `ts` is ISO-8601 UTC with milliseconds, as normalised. */
export const readingKey = (deviceId: number, ts: string, eventId: string): string => `${deviceId}|${ts}|${eventId}`;

/**
 * Writes readings durably, coalescing concurrent callers: while a flush is in flight, new
 * writes gather, and the next flush inserts them all in one statement. With a deep queue the
 * worker runs many ingest jobs at once, so small jobs turn into large inserts by themselves;
 * with a shallow one a write goes out at once. Each caller learns which of its readings were
 * new (`readingKey`s), the rest being duplicates.
 */
@Injectable()
export class ReadingWriter {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(private readonly repo: ReadingsRepository) {}

  write(rows: readonly ReadingRow[]): Promise<Set<string>> {
    if (!rows.length) return Promise.resolve(new Set());
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
      const inserted = await this.repo.insertMany(batch.flatMap((p) => p.rows));
      const stored = new Set(inserted.map((r) => readingKey(Number(r.device_id), r.ts, r.event_id)));
      // A row sent by several callers of one flush was inserted once: it is new to the first only.
      for (const p of batch) {
        const mine = new Set<string>();
        for (const row of p.rows) {
          const key = readingKey(row.deviceId, row.ts, row.eventId);
          if (stored.delete(key)) mine.add(key);
        }
        p.resolve(mine);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
