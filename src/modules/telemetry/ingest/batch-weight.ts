/**
 * How heavy a batch of readings is to write: one per reading plus its data's top-level keys
 * (each numeric key is a rollup delta). The API picks a batch's queue by it and the reading
 * writer shares its flushes out by it (docs/ingest.md, "Fairness between projects").
 */
export function batchWeight(readings: readonly { data: unknown }[]): number {
  let w = 0;
  for (const r of readings) {
    w += 1;
    if (r.data && typeof r.data === 'object') for (const _ in r.data) w++;
  }
  return w;
}

/** Batches this light (a device's few readings) are small: they have the writer's express flush. */
export const SMALL_BATCH_WEIGHT = 2_000;

/**
 * Batches heavier than this (more than 1,000 readings of four metrics, a 5,000-key event) go to
 * the `telemetry-ingest-bulk` queue, whose few worker slots are their own: they cannot take the
 * slots of everyone else's batches, nor hold many of them in memory at once.
 */
export const BULK_BATCH_WEIGHT = 5_000;
