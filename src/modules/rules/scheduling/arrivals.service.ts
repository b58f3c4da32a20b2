import { Injectable } from '@nestjs/common';
import { Coalescer } from '../../../core/database/coalescer';
import { Arrival, DeadlinesRepository } from './deadlines.repository';

/** Arrivals per flush; a device's 10,000-key reading counts as one. */
const MAX_ARRIVALS_PER_FLUSH = 5_000;

/**
 * Whether a batch carries a metric: a top-level key with a non-null value in any of its
 * readings. Asked only for the metrics no-data rules watch, so a wide reading's keys are
 * never listed.
 */
export function carrier(readings: readonly { data: Record<string, unknown> }[]): (metric: string) => boolean {
  return (metric) => readings.some((r) => Object.hasOwn(r.data, metric) && r.data[metric] !== null);
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
    return this.coalescer.submit({ deviceId, at: receivedAt, carries: carrier(readings) });
  }
}
