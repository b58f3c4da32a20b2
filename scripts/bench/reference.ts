import { Client } from 'pg';
import { binaryCopy, copyIn, copyRow } from './copy';
import { pg } from './platform';

/**
 * The ingest benchmark's reference: the fastest raw way found to put the platform's rows into
 * a table built like `readings` (ref_readings: the same columns and defaults, partitioned by
 * day at the same bounds, the same (device_id, ts) index), optionally with each identity in a
 * copy of `reading_identities` (ref_identities). Candidates and their rates: docs/benchmarks.md.
 * The rows are encoded before the clock starts: the reference measures the database's side.
 */

export interface RefRow {
  p: number;
  d: number;
  e: string;
  t: string;
  j: string;
}

/** How the reference writes: statement kind, rows per statement, connections at once. */
export interface RefMethod {
  kind: 'copy' | 'copy-binary' | 'unnest' | 'values';
  rows: number;
  connections: number;
  /** Also store each identity in ref_identities: (COPY) a second COPY in the same transaction, or (unnest) the writer's claim-then-insert statement. */
  identity: boolean;
}

/** The fastest of the candidates tried (docs/benchmarks.md): binary COPY, 5,000 rows each, 2 connections at once. */
export const REFERENCE: Omit<RefMethod, 'identity'> = { kind: 'copy-binary', rows: 5000, connections: 2 };

export const describe = (m: RefMethod) =>
  `${m.kind === 'copy' ? 'COPY' : m.kind === 'copy-binary' ? 'COPY (binary)' : m.kind === 'unnest' ? 'INSERT … SELECT unnest' : 'INSERT … VALUES'} ${m.rows} rows × ${m.connections} conn${m.identity ? ' + identity' : ''}`;

/** Creates ref_readings (and ref_identities) as copies of readings' (reading_identities') definitions, partitions included. */
export async function createReferenceTables(db: Client): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ref_readings, ref_identities`);
  await db.query(`CREATE TABLE ref_readings (LIKE readings INCLUDING ALL) PARTITION BY RANGE (ts)`);
  const parts: { name: string; bound: string }[] = (
    await db.query(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass ORDER BY 1`,
    )
  ).rows;
  for (const p of parts) await db.query(`CREATE TABLE "ref_${p.name}" PARTITION OF ref_readings ${p.bound}`);
  await db.query(`CREATE TABLE ref_identities (LIKE reading_identities INCLUDING ALL)`);
}

export async function dropReferenceTables(db: Client): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ref_readings, ref_identities`);
}

/** Empties the reference tables between candidates (TRUNCATE keeps the partitions and indexes). */
export async function truncateReferenceTables(db: Client): Promise<void> {
  await db.query(`TRUNCATE ref_readings, ref_identities`);
}

type Encoded = { n: number; run: (c: Client) => Promise<unknown> };

/** The statements of one method, prepared before timing. */
export function encode(rows: RefRow[], m: RefMethod): Encoded[] {
  const out: Encoded[] = [];
  for (let at = 0; at < rows.length; at += m.rows) {
    const chunk = rows.slice(at, at + m.rows);
    out.push({ n: chunk.length, run: statementOf(chunk, m) });
  }
  return out;
}

function statementOf(chunk: RefRow[], m: RefMethod): (c: Client) => Promise<unknown> {
  if (m.kind === 'copy') {
    const readings = Buffer.from(chunk.map((r) => copyRow([r.p, r.d, r.e, r.t, r.j])).join(''));
    if (!m.identity) return (c) => copyIn(c, 'ref_readings', 'project_id, device_id, event_id, ts, payload', readings);
    const ids = Buffer.from(chunk.map((r) => copyRow([r.d, r.e, r.t])).join(''));
    return async (c) => {
      await c.query('BEGIN');
      await copyIn(c, 'ref_identities', 'device_id, event_id, ts', ids);
      await copyIn(c, 'ref_readings', 'project_id, device_id, event_id, ts, payload', readings);
      await c.query('COMMIT');
    };
  }
  if (m.kind === 'copy-binary') {
    const readings = binaryCopy(chunk.map((r) => [{ bigint: r.p }, { bigint: r.d }, { text: r.e }, { timestamptz: Date.parse(r.t) }, { jsonb: r.j }]));
    if (!m.identity) return (c) => copyIn(c, 'ref_readings', 'project_id, device_id, event_id, ts, payload', readings, 'binary');
    const ids = binaryCopy(chunk.map((r) => [{ bigint: r.d }, { text: r.e }, { timestamptz: Date.parse(r.t) }]));
    return async (c) => {
      await c.query('BEGIN');
      await copyIn(c, 'ref_identities', 'device_id, event_id, ts', ids, 'binary');
      await copyIn(c, 'ref_readings', 'project_id, device_id, event_id, ts, payload', readings, 'binary');
      await c.query('COMMIT');
    };
  }
  if (m.kind === 'unnest') {
    const cols = [chunk.map((r) => r.p), chunk.map((r) => r.d), chunk.map((r) => r.e), chunk.map((r) => r.t), JSON.stringify(chunk.map((r) => JSON.parse(r.j)))];
    const u = `ROWS FROM (unnest($1::bigint[]), unnest($2::bigint[]), unnest($3::text[]), unnest($4::timestamptz[]), jsonb_array_elements($5::jsonb)) AS u(p, d, e, t, j)`;
    const sql = m.identity
      ? `WITH claimed AS (
           INSERT INTO ref_identities (device_id, event_id, ts) SELECT * FROM unnest($2::bigint[], $3::text[], $4::timestamptz[])
           ON CONFLICT (device_id, event_id) DO NOTHING RETURNING device_id, event_id)
         INSERT INTO ref_readings (project_id, device_id, event_id, ts, payload)
         SELECT u.p, u.d, u.e, u.t, u.j FROM ${u} JOIN claimed c ON c.device_id = u.d AND c.event_id COLLATE "C" = u.e COLLATE "C"`
      : `INSERT INTO ref_readings (project_id, device_id, event_id, ts, payload) SELECT u.p, u.d, u.e, u.t, u.j FROM ${u}`;
    return (c) => c.query(sql, cols);
  }
  if (m.identity) throw new Error('INSERT … VALUES has no identity variant here');
  const values: unknown[] = [];
  const tuples = chunk.map((r, i) => {
    values.push(r.p, r.d, r.e, r.t, r.j);
    const o = i * 5;
    return `($${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, $${o + 5})`;
  });
  const sql = `INSERT INTO ref_readings (project_id, device_id, event_id, ts, payload) VALUES ${tuples.join(',')}`;
  return (c) => c.query(sql, values);
}

/**
 * Runs the prepared statements on `connections` connections at once (each takes the next
 * statement when its last one finished) and returns the wall time in ms.
 */
export async function runReference(databaseUrl: string, statements: Encoded[], connections: number, progress?: (rows: number) => void): Promise<number> {
  const conns = await Promise.all(Array.from({ length: connections }, () => pg(databaseUrl)));
  for (const c of conns) c.on('error', () => {});
  try {
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (c) => {
        while (next < statements.length) {
          const s = statements[next++];
          await s.run(c);
          progress?.((done += s.n));
        }
      }),
    );
    return performance.now() - t0;
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
}

/** The rows of POST /telemetry bodies as the writer stores them (its device by batch: `deviceOf(b)`). */
export function rowsOfBodies(bodies: string[], projectId: number, deviceOf: (b: number) => number): RefRow[] {
  const rows: RefRow[] = [];
  bodies.forEach((text, b) => {
    const body = JSON.parse(text) as { events: { ts: string; event_id: string; data: unknown }[] };
    const d = deviceOf(b);
    for (const e of body.events) rows.push({ p: projectId, d, e: e.event_id, t: e.ts, j: JSON.stringify(e.data) });
  });
  return rows;
}
