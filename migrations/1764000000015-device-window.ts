import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `device_window(project, device, n, metrics)`: a device's newest `n` readings by (ts, id),
 * newest first, each with its position (`rn`, 1 = newest) and the values of `metrics` (a JSON
 * number as float8, else null: metric-sql's isNumber and numberAt, written out here as they
 * were). Rule evaluation counts its conditions over it (WindowCountsRepository).
 *
 * Why a function: the plan. The cheap way to the newest n is to walk each partition's
 * (device_id, ts) index backwards and stop after n; but the planner picks that only when it
 * believes the device has more than n readings. On statistics that are missing or stale (a
 * new partition, autovacuum off or behind, a device that grew since the last ANALYZE) it
 * believed a few, and read every reading the device ever sent with a bitmap scan and sorted
 * them all: 435 ms (20 MB sorted on disk) for a 10,000-reading window over 250,000 readings,
 * 4.5 ms for a window of 15 over 7,720, where the walk takes 25 and 0.9 ms
 * (docs/rules.md, "How it works"). The function's SET clauses hold for its own statement only:
 * no bitmap scan and no full sort, so the walk is the plan whatever the statistics say.
 */
export class DeviceWindow1764000000015 implements MigrationInterface {
  name = 'DeviceWindow1764000000015';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION device_window(p_project bigint, p_device bigint, p_limit int, p_metrics text[])
      RETURNS TABLE (ms float8, rn bigint, vals float8[])
      LANGUAGE sql STABLE
      SET enable_bitmapscan = off
      SET enable_sort = off
      AS $$
        SELECT floor(extract(epoch FROM r.ts) * 1000)::float8,
               row_number() OVER (ORDER BY r.ts DESC, r.id DESC),
               (SELECT array_agg(CASE WHEN jsonb_typeof(r.payload -> p_metrics[i]) = 'number'
                                      THEN (r.payload ->> p_metrics[i])::float8 END ORDER BY i)
                  FROM generate_series(1, cardinality(p_metrics)) AS i)
          FROM readings r
         WHERE r.project_id = p_project AND r.device_id = p_device
         ORDER BY r.ts DESC, r.id DESC
         LIMIT p_limit
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION device_window(bigint, bigint, int, text[])`);
  }
}
