import { DataSource } from 'typeorm';
import { inTransactionOpenedBy, IntegerRead, literalStatement, runRead } from '../../src/core/database/transaction';
import { openDataSource } from '../support/repository-tier';

/**
 * inTransactionOpenedBy (src/core/database/transaction.ts): a transaction whose first reads
 * travel with its BEGIN, as a device's evaluation takes its lock and reads its rules.
 */
describe('a transaction opened by its first statement (real Postgres)', () => {
  let ds: DataSource;

  beforeAll(async () => {
    ds = await openDataSource();
    await ds.query(`CREATE TABLE IF NOT EXISTS transaction_spec_rows (n int)`);
  });
  afterAll(async () => {
    await ds?.query(`DROP TABLE IF EXISTS transaction_spec_rows`);
    await ds?.destroy();
  });

  const count = async (n: number) => (await ds.query(`SELECT count(*)::int AS c FROM transaction_spec_rows WHERE n = $1`, [n]))[0].c;

  const read = <T>(sql: string, params: (number | number[])[], parse: (rows: any[]) => T): IntegerRead<T> => ({ sql, params, parse });
  const rowsOf = (sql: string, params: (number | number[])[] = []) => read(sql, params, (rows) => rows);

  it('hands every read’s answer to the work, in order, which runs in the same transaction, and commits', async () => {
    const reads = [
      read(`SELECT txid_current()::text AS xid, $1::int AS seven`, [7], ([r]) => r as { xid: string; seven: number }),
      read(`SELECT n FROM unnest($1::bigint[]) AS n ORDER BY n`, [[3, 1, 2]], (rows) => rows.map((r) => Number(r.n))),
      read(`SELECT txid_current()::text AS xid`, [], ([r]) => r.xid as string),
    ] as const;
    const out = await inTransactionOpenedBy(ds, reads, async (tx, [first, ns, again]) => {
      expect(first.seven).toBe(7);
      expect(ns).toEqual([1, 2, 3]);
      await tx.query(`INSERT INTO transaction_spec_rows (n) VALUES (1)`);
      const [{ xid }] = await tx.query(`SELECT txid_current()::text AS xid`);
      return [first.xid, again, xid];
    });
    expect(new Set(out).size).toBe(1);
    expect(await count(1)).toBe(1);
  });

  it('answers a read as runRead does when it runs bound', async () => {
    const sql = `SELECT n, $2::int AS k FROM unnest($1::bigint[]) AS n ORDER BY n`;
    for (const params of [[[5, -2, 9], 4], [[], 1]] as (number | number[])[][]) {
      const bound = await runRead(ds.manager, rowsOf(sql, params));
      const opened = await inTransactionOpenedBy(ds, [rowsOf(sql, params)] as const, async (_tx, [rows]) => rows);
      expect(opened).toEqual(bound);
    }
  });

  it('runs the reads after the first one’s lock is granted', async () => {
    await ds.query(`INSERT INTO transaction_spec_rows (n) VALUES (10)`);
    const holder = ds.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query(`SELECT pg_advisory_xact_lock(990001, 3)`);
    const opened = inTransactionOpenedBy(
      ds,
      [rowsOf(`SELECT pg_advisory_xact_lock($1, $2)`, [990_001, 3]), read(`SELECT count(*)::int AS c FROM transaction_spec_rows WHERE n = $1`, [10], ([r]) => r.c as number)] as const,
      async (_tx, [, c]) => c,
    );
    // Committed while the reads wait behind the lock: the second read sees it.
    await holder.query(`INSERT INTO transaction_spec_rows (n) VALUES (10)`);
    await holder.commitTransaction();
    await holder.release();
    expect(await opened).toBe(2);
  });

  it('rolls the whole transaction back when the work fails, the reads’ effects included', async () => {
    await expect(
      inTransactionOpenedBy(ds, [rowsOf(`SELECT pg_advisory_xact_lock($1, $2)`, [990_001, 2])] as const, async (tx) => {
        await tx.query(`INSERT INTO transaction_spec_rows (n) VALUES (2)`);
        await tx.query(`SELECT 1/0`);
      }),
    ).rejects.toThrow(/division by zero/);
    expect(await count(2)).toBe(0);
    // The advisory lock went with the transaction: another session takes it at once.
    const [{ locked }] = await ds.query(`SELECT pg_try_advisory_lock(990001, 2) AS locked`);
    expect(locked).toBe(true);
    await ds.query(`SELECT pg_advisory_unlock(990001, 2)`);
  });

  it('leaves the connection usable when a read fails', async () => {
    for (let i = 0; i < 25; i++) {
      await expect(inTransactionOpenedBy(ds, [rowsOf(`SELECT 1`), rowsOf(`SELECT $1 / $2`, [1, 0])] as const, async () => undefined)).rejects.toThrow(/division by zero/);
    }
    // More failures than the pool has connections: none was left inside an aborted transaction.
    for (let i = 0; i < 25; i++) expect(await inTransactionOpenedBy(ds, [read(`SELECT $1::int AS n`, [i], ([r]) => r.n as number)] as const, async (_tx, [n]) => n)).toBe(i);
  });

  it('writes only integers into the statement', () => {
    expect(literalStatement({ sql: `SELECT $1, $2, $10`, params: [42, [-3, 0], 1, 1, 1, 1, 1, 1, 1, 7] })).toBe('SELECT 42, ARRAY[-3, 0], 7');
    for (const bad of [1.5, NaN, Infinity, '1; DROP TABLE devices' as unknown as number, 2 ** 60]) {
      expect(() => literalStatement({ sql: `SELECT $1`, params: [bad] })).toThrow(/not an integer/);
      expect(() => literalStatement({ sql: `SELECT $1`, params: [[1, bad]] })).toThrow(/not an integer/);
    }
    expect(() => literalStatement({ sql: `SELECT $2`, params: [1] })).toThrow(/no parameter \$2/);
  });
});
