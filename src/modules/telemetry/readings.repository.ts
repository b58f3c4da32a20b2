import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { rollupChanges } from './analytics/rollup-plan';
import { epochBucket, isNumber, numberAt } from './analytics/metric-sql';
import { ROLLUP_COLUMNS, rollupsOfValues } from './analytics/rollup-sql';
import type { ReadingRow } from './reading-row';

export interface StoredReading {
  id: number;
  device_id: number;
  event_id: string;
  ts: Date;
  received_at: Date;
  payload: Record<string, unknown>;
}

export interface ReadingRange {
  from: Date | null;
  to: Date | null;
  limit: number;
  /** Keyset position: readings strictly older than (ts, id). */
  before: { ts: Date; id: number } | null;
}

export interface MetricFilter {
  metric: string;
  from: Date;
  to: Date;
  deviceId?: number;
  tag?: string;
}

export interface Bucket {
  start: Date;
  count: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
}

export interface Stats {
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  unique_devices: number;
}

/** `rows` without the later ones of an identity (device, event_id) already among them. */
function firstOfEachIdentity(rows: readonly ReadingRow[]): readonly ReadingRow[] {
  const seen = new Set<string>();
  const out = rows.filter((r) => {
    const key = `${r.deviceId}|${r.eventId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return out.length === rows.length ? rows : out;
}

const READING_COLUMNS = 'r.id, r.device_id, r.event_id, r.ts, r.received_at, r.payload';

/**
 * Readings: the hot write path and the time-range reads. Raw SQL throughout: the bulk insert
 * must be one statement per flush, and the reads must use the (device_id, ts) index and
 * partition pruning, which is easiest to guarantee by writing the queries by hand.
 */
@Injectable()
export class ReadingsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Inserts readings of any number of devices and projects in one statement (the writer
   * coalesces jobs); the API checked each device against its tenant before queueing. A reading
   * is identified by (device_id, event_id) whatever its ts: the statement claims each identity
   * in reading_identities and inserts only the readings whose identity it claimed, so resends,
   * retries and concurrent writers never double one (the first of several with one identity
   * in `rows` is the one offered; see docs/ingest.md).
   * The same statement moves the devices' last_seen_at forward: on this kind of disk a commit
   * costs an fsync (~9 ms), so the ingest path commits exactly once per flush. The devices
   * are locked in id order (so concurrent flushes cannot deadlock, and two claims of one
   * identity queue on its device) and only rows of devices that still exist are inserted; a
   * concurrent device delete waits for this commit and its trigger then removes the rows. It
   * also records how the rows change rollups (deltas for live data, marks for a backfill; see
   * rollupChanges), so a rollup never misses a committed reading. The deltas are built from
   * the numeric values rollupChanges read in JS, joined to the inserted rows by position: no
   * payload is looked into, so the cost is linear in the values. Rows are matched on event_id
   * in the "C" collation: equality is the same in every deterministic collation, and a merge
   * join's sort by bytes is several times cheaper than by a language's rules. `keys` returns the new
   * identities (for wait=true), `count` only how many were new, which is cheaper.
   */
  async insertMany(rows: readonly ReadingRow[], mode: 'count'): Promise<number>;
  async insertMany(rows: readonly ReadingRow[], mode: 'keys'): Promise<{ device_id: number; event_id: string }[]>;
  async insertMany(rows: readonly ReadingRow[], mode: 'count' | 'keys') {
    if (!rows.length) return mode === 'count' ? 0 : [];
    const unique = firstOfEachIdentity(rows);
    const cols = { p: [] as number[], d: [] as number[], e: [] as string[], t: [] as string[], r: [] as string[], j: [] as unknown[] };
    for (const row of unique) {
      cols.p.push(row.projectId);
      cols.d.push(row.deviceId);
      cols.e.push(row.eventId);
      cols.t.push(row.ts);
      cols.r.push(row.receivedAt);
      cols.j.push(row.data);
    }
    const { marks, values, singles } = rollupChanges(unique);
    const withDeltas = values.i.length > 0;
    const withSingles = singles.i.length > 0;
    const ordered = `unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS u(p, d, e, t, i)`;
    const singlesAt = withDeltas ? 13 : 10;
    const result: { device_id: number; event_id: string }[] | { n: number }[] = await this.ds.query(
      `WITH arrived AS (
         SELECT device_id, max(received_at) AS at FROM unnest($2::bigint[], $5::timestamptz[]) AS u(device_id, received_at)
          GROUP BY device_id
       ), locked AS (
         SELECT d.id, d.last_seen_at, a.at FROM devices d JOIN arrived a ON a.device_id = d.id
          ORDER BY d.id FOR NO KEY UPDATE OF d
       ), seen AS (
         UPDATE devices d SET last_seen_at = l.at FROM locked l
          WHERE d.id = l.id AND (l.last_seen_at IS NULL OR l.last_seen_at < l.at)
       ), marked AS (
         INSERT INTO metric_rollup_marks (project_id, metric, hour) SELECT * FROM unnest($7::bigint[], $8::text[], $9::timestamptz[])
       ), claimed AS (
         INSERT INTO reading_identities (device_id, event_id, ts)
         SELECT * FROM unnest($2::bigint[], $3::text[], $4::timestamptz[]) AS u(d, e, t)
          WHERE u.d IN (SELECT id FROM locked)
         ON CONFLICT (device_id, event_id) DO NOTHING
         RETURNING device_id, event_id
       ), inserted AS (
         INSERT INTO readings (project_id, device_id, event_id, ts, received_at, payload)
         SELECT u.p, u.d, u.e, u.t, u.r, u.j
           FROM ROWS FROM (unnest($1::bigint[]), unnest($2::bigint[]), unnest($3::text[]), unnest($4::timestamptz[]),
                           unnest($5::timestamptz[]), jsonb_array_elements($6::jsonb)) AS u(p, d, e, t, r, j)
           JOIN claimed c ON c.device_id = u.d AND c.event_id COLLATE "C" = u.e COLLATE "C"
         RETURNING device_id, event_id
       )${
         withDeltas
           ? `, x AS (
         SELECT u.p, k.m, date_bin('1 minute', u.t, TIMESTAMPTZ 'epoch') AS t, u.d, k.v, u.t AS ts
           FROM unnest($10::int[], $11::text[], $12::float8[]) AS k(i, m, v)
           JOIN ${ordered} ON u.i = k.i + 1
           JOIN inserted n ON n.device_id = u.d AND n.event_id COLLATE "C" = u.e COLLATE "C"
       ), delta AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, ${ROLLUP_COLUMNS})
         ${rollupsOfValues('x')}
       )`
           : ''
       }${
         withSingles
           ? `, single AS (
         INSERT INTO metric_rollup_deltas (project_id, metric, minute, ${ROLLUP_COLUMNS})
         SELECT u.p, k.m, date_bin('1 minute', u.t, TIMESTAMPTZ 'epoch'), 1, k.v, k.v, k.v, ARRAY[k.v], ARRAY[1], ARRAY[u.d], ARRAY[1], ARRAY[u.t], ARRAY[u.t]
           FROM unnest($${singlesAt}::int[], $${singlesAt + 1}::text[], $${singlesAt + 2}::float8[]) AS k(i, m, v)
           JOIN ${ordered} ON u.i = k.i + 1
           JOIN inserted n ON n.device_id = u.d AND n.event_id COLLATE "C" = u.e COLLATE "C"
       )`
           : ''
       }
       ${mode === 'keys' ? 'SELECT device_id, event_id FROM inserted' : 'SELECT count(*)::int AS n FROM inserted'}`,
      // Payloads travel as one JSON array: serialising it is one native call, where a jsonb[]
      // parameter would escape every element.
      [cols.p, cols.d, cols.e, cols.t, cols.r, JSON.stringify(cols.j), marks.p, marks.m, marks.h]
        .concat(withDeltas ? [values.i, values.m, values.v] : [])
        .concat(withSingles ? [singles.i, singles.m, singles.v] : []),
    );
    return mode === 'count' ? (result as { n: number }[])[0].n : result;
  }

  recent(scope: TenantScope, deviceId: number, range: ReadingRange): Promise<StoredReading[]> {
    const params: unknown[] = [scope.projectId, deviceId, range.limit + 1];
    const where = ['r.project_id = $1', 'r.device_id = $2', ...this.rangeClauses(range, params)];
    return this.ds.query(
      `SELECT ${READING_COLUMNS} FROM readings r WHERE ${where.join(' AND ')}
       ORDER BY r.ts DESC, r.id DESC LIMIT $3`,
      params,
    );
  }

  async latest(scope: TenantScope, deviceId: number): Promise<StoredReading | null> {
    const rows = await this.recent(scope, deviceId, { from: null, to: null, limit: 0, before: null });
    return rows[0] ?? null;
  }

  /** The device's newest `n` readings by (ts, id), inside the caller's transaction. */
  window(tx: EntityManager, scope: TenantScope, deviceId: number, n: number): Promise<{ ts: Date; payload: Record<string, unknown> }[]> {
    return tx.query(
      `SELECT r.ts, r.payload FROM readings r WHERE r.project_id = $1 AND r.device_id = $2
       ORDER BY r.ts DESC, r.id DESC LIMIT $3`,
      [scope.projectId, deviceId, n],
    );
  }

  byTag(scope: TenantScope, tag: string, range: ReadingRange): Promise<StoredReading[]> {
    const params: unknown[] = [scope.projectId, tag, range.limit + 1];
    const where = ['r.project_id = $1', 'd.project_id = $1', 'd.tags @> ARRAY[$2::text]', ...this.rangeClauses(range, params)];
    return this.ds.query(
      `SELECT ${READING_COLUMNS} FROM readings r JOIN devices d ON d.id = r.device_id
       WHERE ${where.join(' AND ')} ORDER BY r.ts DESC, r.id DESC LIMIT $3`,
      params,
    );
  }

  async aggregate(scope: TenantScope, filter: MetricFilter, intervalSeconds: number): Promise<Bucket[]> {
    const { sql, params } = this.numericValues(scope, filter);
    params.push(intervalSeconds);
    // Buckets align to multiples of the interval since the Unix epoch, whatever `from` is.
    return this.analytics(
      `SELECT ${epochBucket('ts', `$${params.length}`)} AS start,
              count(*)::int AS count, sum(v) AS sum, avg(v) AS avg, min(v) AS min, max(v) AS max
         FROM (${sql}) x GROUP BY 1 ORDER BY 1`,
      params,
    );
  }

  async stats(scope: TenantScope, filter: MetricFilter): Promise<Stats> {
    const { sql, params } = this.numericValues(scope, filter);
    // percentile_disc is the nearest-rank percentile: the smallest value whose cumulative share
    // reaches p. The three share one sort; distinct devices are counted by hashing, not sorting.
    const [row] = await this.analytics<Stats & { ps: number[] | null }>(
      `WITH x AS (${sql})
       SELECT count(*)::int AS count, min(v) AS min, max(v) AS max, avg(v) AS mean,
              percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY v) AS ps,
              (SELECT count(*)::int FROM (SELECT device_id FROM x GROUP BY device_id) d) AS unique_devices
         FROM x`,
      params,
    );
    const { ps, ...rest } = row;
    return { ...rest, p50: ps?.[0] ?? null, p95: ps?.[1] ?? null, p99: ps?.[2] ?? null };
  }

  /**
   * Analytics statements sort and hash up to millions of values; the default work_mem (4 MB)
   * would send them to disk, so they get more, for their own transaction only.
   */
  private analytics<T = Bucket>(sql: string, params: unknown[]): Promise<T[]> {
    return this.ds.transaction(async (tx) => {
      await tx.query(`SET LOCAL work_mem = '64MB'`);
      return tx.query(sql, params);
    });
  }

  /** The numeric values of one metric in a project's readings, as (ts, device_id, v). */
  private numericValues(scope: TenantScope, f: MetricFilter): { sql: string; params: unknown[] } {
    const params: unknown[] = [scope.projectId, f.metric, f.from, f.to];
    const where = [
      'r.project_id = $1',
      'r.ts >= $3',
      'r.ts <= $4',
      isNumber('r.payload', '$2::text'),
    ];
    if (f.deviceId !== undefined) {
      params.push(f.deviceId);
      where.push(`r.device_id = $${params.length}`);
    }
    if (f.tag !== undefined) {
      params.push(f.tag);
      where.push(`r.device_id IN (SELECT id FROM devices WHERE project_id = $1 AND tags @> ARRAY[$${params.length}::text])`);
    }
    return {
      sql: `SELECT r.ts, r.device_id, ${numberAt('r.payload', '$2::text')} AS v FROM readings r WHERE ${where.join(' AND ')}`,
      params,
    };
  }

  private rangeClauses(range: ReadingRange, params: unknown[]): string[] {
    const out: string[] = [];
    if (range.from) {
      params.push(range.from);
      out.push(`r.ts >= $${params.length}`);
    }
    if (range.to) {
      params.push(range.to);
      out.push(`r.ts <= $${params.length}`);
    }
    if (range.before) {
      params.push(range.before.ts, range.before.id);
      out.push(`(r.ts, r.id) < ($${params.length - 1}, $${params.length})`);
    }
    return out;
  }
}
