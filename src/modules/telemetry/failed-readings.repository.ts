import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ReadingRow } from './reading-row';

/** A reading the writer could not store, kept with the reason (migration 1764000000005). */
export interface FailedReading {
  reading: ReadingRow;
  reason: string;
  code: string | null;
}

@Injectable()
export class FailedReadingsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Keeps the reading as JSON text: JSON.stringify escapes NUL and lone surrogates, so what
   * a jsonb or text column refused is stored as written. Recording one again (a retried job)
   * changes nothing (and answers false).
   */
  async record(f: FailedReading): Promise<boolean> {
    const r = f.reading;
    const received = Date.parse(String(r.receivedAt));
    const rows: unknown[] = await this.ds.query(
      `INSERT INTO failed_readings (project_id, device_id, event, received_at, reason, code) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (device_id, md5(event)) DO NOTHING RETURNING 1`,
      [
        r.projectId,
        r.deviceId,
        JSON.stringify({ event_id: r.eventId, ts: r.ts, data: r.data }),
        Number.isNaN(received) ? null : new Date(received),
        f.reason,
        f.code,
      ],
    );
    return rows.length > 0;
  }
}
