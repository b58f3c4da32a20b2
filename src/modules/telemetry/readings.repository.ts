import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { SqlParams } from '../../core/database/sql-params';
import { COMMIT_VISIBLE, CommitMode } from '../../core/database/commit-barrier';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import type { HasRollups } from '../analytics/freshness/rollup-changes';
import { rollupChangesFragment } from '../analytics/freshness/rollup-changes.fragment';
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

function rangeClauses(range: ReadingRange, q: SqlParams): string[] {
  const out: string[] = [];
  if (range.from) out.push(`r.ts >= ${q.add(range.from)}`);
  if (range.to) out.push(`r.ts <= ${q.add(range.to)}`);
  if (range.before) out.push(`(r.ts, r.id) < (${q.add(range.before.ts)}, ${q.add(range.before.id)})`);
  return out;
}

/** How `insertMany` records and commits (see there). */
export interface InsertOptions {
  /** Receives the projects whose hours the committed statement marked for a rebuild. */
  marked?: Set<number>;
  /** Which metrics record rollup changes; absent: all. */
  hasRollups?: HasRollups;
  commit?: CommitMode;
}

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
   * The same statement moves the devices' last_seen_at forward: a commit costs an fsync, so
   * the ingest path commits exactly once per flush. The devices are locked in id order (so
   * concurrent flushes cannot deadlock, and two claims of one identity queue on its device)
   * and only rows of devices that still exist are inserted; a concurrent device delete waits
   * for this commit and its trigger then removes the rows. It also records how the rows change
   * rollups, with the analytics module's fragment (docs/analytics.md), so a rollup never misses
   * a committed reading. Rows are matched on event_id in the "C" collation: equality is the
   * same in every deterministic collation, and a merge join's sort by bytes is several times
   * cheaper than by a language's rules. `keys` returns the new identities (for wait=true),
   * `count` only how many were new, which is cheaper. The projects whose hours the committed
   * statement marked for a rebuild are added to `marked`. Only metrics with rollups
   * (`hasRollups`, which the writer asks analytics for; absent: all) record rollup changes.
   * `commit: 'visible'` commits without waiting for the WAL flush (`synchronous_commit` off for
   * this statement's transaction only): the rows are visible at once, and the caller must wait
   * for `CommitBarrier` before it counts them durable (docs/ingest.md, "Visible first, durable
   * before the job is acknowledged").
   */
  async insertMany(rows: readonly ReadingRow[], mode: 'count', options?: InsertOptions): Promise<number>;
  async insertMany(rows: readonly ReadingRow[], mode: 'keys', options?: InsertOptions): Promise<{ device_id: number; event_id: string }[]>;
  async insertMany(rows: readonly ReadingRow[], mode: 'count' | 'keys', { marked, hasRollups, commit = 'durable' }: InsertOptions = {}) {
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
    const q = new SqlParams();
    const [p, d, e, t, r] = [cols.p, cols.d, cols.e, cols.t, cols.r].map((c) => q.add(c));
    // Payloads travel as one JSON array: serialising it is one native call, where a jsonb[]
    // parameter would escape every element.
    const j = q.add(JSON.stringify(cols.j));
    const rollups = rollupChangesFragment(unique, { projectIds: p, deviceIds: d, eventIds: e, times: t, inserted: 'inserted' }, q, hasRollups);
    const visible = commit === 'visible';
    const result: { device_id: number; event_id: string }[] | { n: number }[] = await this.ds.query(
      `WITH arrived AS (
         SELECT device_id, max(received_at) AS at FROM unnest(${d}::bigint[], ${r}::timestamptz[]) AS u(device_id, received_at)${visible ? `, ${COMMIT_VISIBLE}` : ''}
          GROUP BY device_id
       ), locked AS (
         SELECT d.id, d.last_seen_at, a.at FROM devices d JOIN arrived a ON a.device_id = d.id
          ORDER BY d.id FOR NO KEY UPDATE OF d
       ), seen AS (
         UPDATE devices d SET last_seen_at = l.at FROM locked l
          WHERE d.id = l.id AND (l.last_seen_at IS NULL OR l.last_seen_at < l.at)
       ), claimed AS (
         INSERT INTO reading_identities (device_id, event_id, ts)
         SELECT * FROM unnest(${d}::bigint[], ${e}::text[], ${t}::timestamptz[]) AS u(d, e, t)
          WHERE u.d IN (SELECT id FROM locked)
         ON CONFLICT (device_id, event_id) DO NOTHING
         RETURNING device_id, event_id
       ), inserted AS (
         INSERT INTO readings (project_id, device_id, event_id, ts, received_at, payload)
         SELECT u.p, u.d, u.e, u.t, u.r, u.j
           FROM ROWS FROM (unnest(${p}::bigint[]), unnest(${d}::bigint[]), unnest(${e}::text[]), unnest(${t}::timestamptz[]),
                           unnest(${r}::timestamptz[]), jsonb_array_elements(${j}::jsonb)) AS u(p, d, e, t, r, j)
           JOIN claimed c ON c.device_id = u.d AND c.event_id COLLATE "C" = u.e COLLATE "C"
         RETURNING device_id, event_id
       )${rollups.sql}
       ${mode === 'keys' ? 'SELECT device_id, event_id FROM inserted' : 'SELECT count(*)::int AS n FROM inserted'}`,
      q.values,
    );
    for (const p of rollups.markedProjects) marked?.add(p);
    return mode === 'count' ? (result as { n: number }[])[0].n : result;
  }

  recent(scope: TenantScope, deviceId: number, range: ReadingRange): Promise<StoredReading[]> {
    const q = new SqlParams();
    const where = [`r.project_id = ${q.add(scope.projectId)}`, `r.device_id = ${q.add(deviceId)}`, ...rangeClauses(range, q)];
    return this.ds.query(
      `SELECT ${READING_COLUMNS} FROM readings r WHERE ${where.join(' AND ')}
       ORDER BY r.ts DESC, r.id DESC LIMIT ${q.add(range.limit + 1)}`,
      q.values,
    );
  }

  async latest(scope: TenantScope, deviceId: number): Promise<StoredReading | null> {
    const rows = await this.recent(scope, deviceId, { from: null, to: null, limit: 0, before: null });
    return rows[0] ?? null;
  }

  byTag(scope: TenantScope, tag: string, range: ReadingRange): Promise<StoredReading[]> {
    const q = new SqlParams();
    const project = q.add(scope.projectId);
    const where = [`r.project_id = ${project}`, `d.project_id = ${project}`, `d.tags @> ARRAY[${q.add(tag)}::text]`, ...rangeClauses(range, q)];
    return this.ds.query(
      `SELECT ${READING_COLUMNS} FROM readings r JOIN devices d ON d.id = r.device_id
       WHERE ${where.join(' AND ')} ORDER BY r.ts DESC, r.id DESC LIMIT ${q.add(range.limit + 1)}`,
      q.values,
    );
  }
}
