import { Injectable } from '@nestjs/common';
import { Coalescer } from '../../../core/database/coalescer';
import { Arrival, DeadlinesRepository } from './deadlines.repository';

/** Arrivals per flush; a device's 10,000-key reading counts as one. */
const MAX_ARRIVALS_PER_FLUSH = 5_000;

/** A batch with more distinct metrics than this is matched against the watched ones instead of listing its own. */
export const MAX_LISTED_METRICS = 64;

/**
 * What a batch carries: a top-level key with a non-null value in any of its readings. Listed
 * when there are at most MAX_LISTED_METRICS of them; otherwise (a wide reading, many
 * distinct metrics) `metrics` is null and only the metrics no-data rules watch are looked for,
 * with `carries`, so such a batch costs what a narrow one does.
 */
export function carriedBy(readings: readonly { data: Record<string, unknown> }[]): Pick<Arrival, 'metrics' | 'carries'> {
  const carries = (metric: string) => readings.some((r) => Object.hasOwn(r.data, metric) && r.data[metric] !== null);
  const metrics = new Set<string>();
  for (const r of readings) {
    for (const k in r.data) {
      if (r.data[k] === null || metrics.has(k)) continue;
      if (metrics.size === MAX_LISTED_METRICS) return { metrics: null, carries };
      metrics.add(k);
    }
  }
  return { metrics: [...metrics], carries };
}

/**
 * Tells the no-data rules that readings arrived (docs/rules.md): called by the ingest path
 * while it writes the readings (an arrival is the batch's receive time, not its storage), and
 * awaited with them before their evaluation is scheduled, so the evaluation sees the moved
 * clock. Answers whether the device needs that evaluation at all (docs/rules.md, "Which
 * readings are evaluated"). Concurrent calls coalesce into one statement per flush, one
 * at a time (the flush locks rows of many devices), which keeps the cost per reading low.
 */
@Injectable()
export class ArrivalsService {
  private readonly coalescer: Coalescer<Arrival, boolean>;

  constructor(repo: DeadlinesRepository) {
    this.coalescer = new Coalescer({
      flush: (arrivals) => repo.recordArrivals(arrivals),
      maxWeight: MAX_ARRIVALS_PER_FLUSH,
      maxParallel: 1,
    });
  }

  /** Resolves once the arrival is committed (visible): with whether the device must be evaluated. */
  record(
    scope: { projectId: number },
    deviceId: number,
    receivedAt: string,
    readings: readonly { data: Record<string, unknown> }[],
  ): Promise<boolean> {
    return this.coalescer.submit({ projectId: scope.projectId, deviceId, at: receivedAt, ...carriedBy(readings) });
  }
}
