import { Injectable } from '@nestjs/common';
import { Coalescer } from '../../../core/database/coalescer';
import { Arrival, DeadlinesRepository } from './deadlines.repository';

/** Arrivals per flush; a device's 10,000-key reading counts as one. */
const MAX_ARRIVALS_PER_FLUSH = 5_000;

/** The metrics a batch carries: top-level keys with a non-null value, in any of its readings. */
export function carriedMetrics(readings: readonly { data: Record<string, unknown> }[]): string[] {
  const metrics = new Set<string>();
  for (const r of readings) for (const [k, v] of Object.entries(r.data)) if (v !== null) metrics.add(k);
  return [...metrics];
}

/**
 * Tells the no-data rules that readings arrived (docs/rules.md): called by the ingest path
 * after the readings are committed and before their evaluation is scheduled, so the
 * evaluation sees the moved clock. Concurrent calls coalesce into one UPDATE per flush, one
 * at a time (the flush locks rows of many devices), which keeps the cost per reading low.
 */
@Injectable()
export class ArrivalsService {
  private readonly coalescer: Coalescer<Arrival>;

  constructor(repo: DeadlinesRepository) {
    this.coalescer = new Coalescer({
      flush: (arrivals) => repo.recordArrivals(arrivals),
      maxWeight: MAX_ARRIVALS_PER_FLUSH,
      maxParallel: 1,
    });
  }

  record(deviceId: number, receivedAt: string, readings: readonly { data: Record<string, unknown> }[]): Promise<void> {
    return this.coalescer.submit({ deviceId, at: receivedAt, metrics: carriedMetrics(readings) });
  }
}
