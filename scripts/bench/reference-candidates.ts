import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { prepareBodies } from './ingest';
import { ADMIN_TOKEN, benchEnv, dropRunData, fmt, pg, ROOT } from './platform';
import { createReferenceTables, describe, dropReferenceTables, encode, RefMethod, rowsOfBodies, runReference, truncateReferenceTables } from './reference';

/**
 * `node dist/scripts/bench/reference-candidates.js`: how fast raw writes of the ingest
 * benchmark's rows into a table built like `readings` can go, to choose the reference
 * (reference.ts's REFERENCE). No platform runs: a fresh migrated database, READINGS (300,000)
 * rows of all.ts's layout (DEVICES devices, 1,000), and each candidate ROUNDS times (3), the
 * candidates interleaved round by round so that each sees the same moods of a shared machine.
 * CANDIDATES picks some by index (e.g. "0,3,5").
 */

const READINGS = Number(process.env.READINGS ?? 300_000);
const DEVICES = Number(process.env.DEVICES ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BATCH = 1000;

const CANDIDATES: RefMethod[] = [
  { kind: 'values', rows: 1000, connections: 8, identity: false },
  { kind: 'unnest', rows: 1000, connections: 8, identity: false },
  { kind: 'unnest', rows: 5000, connections: 2, identity: false },
  { kind: 'unnest', rows: 20000, connections: 2, identity: false },
  { kind: 'copy', rows: 1000, connections: 8, identity: false },
  { kind: 'copy', rows: 5000, connections: 1, identity: false },
  { kind: 'copy', rows: 5000, connections: 2, identity: false },
  { kind: 'copy', rows: 5000, connections: 4, identity: false },
  { kind: 'copy', rows: 20000, connections: 2, identity: false },
  { kind: 'copy', rows: 20000, connections: 4, identity: false },
  { kind: 'copy', rows: 100000, connections: 2, identity: false },
  { kind: 'copy-binary', rows: 5000, connections: 2, identity: false },
  { kind: 'copy-binary', rows: 20000, connections: 2, identity: false },
  { kind: 'unnest', rows: 5000, connections: 2, identity: true },
  { kind: 'unnest', rows: 20000, connections: 4, identity: true },
  { kind: 'copy', rows: 5000, connections: 2, identity: true },
  { kind: 'copy', rows: 20000, connections: 2, identity: true },
  { kind: 'copy-binary', rows: 5000, connections: 2, identity: true },
];

async function main(): Promise<void> {
  const env = benchEnv();
  const picked = process.env.CANDIDATES ? process.env.CANDIDATES.split(',').map((i) => CANDIDATES[Number(i)]) : CANDIDATES;
  execFileSync(process.execPath, [path.join(ROOT, 'dist/scripts/migrate.js')], { env: { ...process.env, DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, ADMIN_TOKEN, LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'inherit'] });
  const db = await pg(env.databaseUrl);
  try {
    const devices = Array.from({ length: DEVICES }, (_, i) => ({ id: i + 1, external_id: `dev-${i}` }));
    // all.ts's layout: each device's readings spread over the 24 h before now.
    const span = 86_400_000;
    const start = Date.now() - span - 600_000;
    const step = span / READINGS;
    const ts = (b: number, i: number) => start + Math.floor(((Math.floor(b / DEVICES) * BATCH + i) * DEVICES + (b % DEVICES)) * step);
    const bodies = prepareBodies({ tenant: { projectId: 1, key: '', devices }, readings: READINGS, batch: BATCH, ts });
    const rows = rowsOfBodies(bodies, 1, (b) => devices[b % DEVICES].id);
    await createReferenceTables(db);
    const rates = new Map<RefMethod, number[]>(picked.map((m) => [m, []]));
    let checksum: string | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const m of picked) {
        await truncateReferenceTables(db);
        await db.query('CHECKPOINT');
        const statements = encode(rows, m);
        const ms = await runReference(env.databaseUrl, statements, m.connections);
        // Every candidate must store the same rows (and identities, when it stores them).
        const check = (
          await db.query(
            `SELECT (SELECT count(*) FROM ref_readings)::int AS n, (SELECT sum(hashtext(concat_ws('|', project_id, device_id, event_id, ts, payload)))::text FROM ref_readings) AS h,
                    (SELECT count(*) FROM ref_identities)::int AS ids`,
          )
        ).rows[0];
        if (check.n !== rows.length || (m.identity && check.ids !== rows.length)) throw new Error(`${describe(m)} stored ${check.n} rows and ${check.ids} identities of ${rows.length}`);
        if ((checksum ??= check.h) !== check.h) throw new Error(`${describe(m)} stored other rows than the first candidate`);
        const rate = rows.length / (ms / 1000);
        rates.get(m)!.push(rate);
        process.stdout.write(`round ${round}  ${describe(m).padEnd(44)} ${fmt(rate).padStart(9)} rows/s\n`);
      }
    }
    process.stdout.write(`\n${fmt(rows.length)} rows, ${ROUNDS} rounds: median (min–max) rows/s\n`);
    for (const [m, rs] of rates) {
      const s = [...rs].sort((a, b) => a - b);
      process.stdout.write(`${describe(m).padEnd(44)} ${fmt(s[Math.floor(s.length / 2)]).padStart(9)}  (${fmt(s[0])}–${fmt(s[s.length - 1])})\n`);
    }
    await dropReferenceTables(db);
  } finally {
    await db.end();
    await dropRunData(env);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
