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

/**
 * Batches this light (a device's few readings) are small: they go to the `telemetry-ingest`
 * queue, whose worker slots large batches cannot take, and have the writer's express flush.
 */
export const SMALL_BATCH_WEIGHT = 2_000;
