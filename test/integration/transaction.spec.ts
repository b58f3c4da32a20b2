import { DataSource } from 'typeorm';
import { inTransactionOpenedBy, literalStatement } from '../../src/core/database/transaction';
import { openDataSource } from '../support/repository-tier';

/**
 * inTransactionOpenedBy (src/core/database/transaction.ts): a transaction whose first
 * statement travels with its BEGIN, as a device's evaluation takes its lock.
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

  it('hands the first statement’s rows to the work, which runs in the same transaction, and commits', async () => {
    const out = await inTransactionOpenedBy<{ xid: string; seven: number }, string[]>(ds, literalStatement`SELECT txid_current()::text AS xid, ${7} AS seven`, async (tx, [first]) => {
      expect(first.seven).toBe(7);
      await tx.query(`INSERT INTO transaction_spec_rows (n) VALUES (1)`);
      const [{ xid }] = await tx.query(`SELECT txid_current()::text AS xid`);
      return [first.xid, xid];
    });
    expect(out[0]).toBe(out[1]);
    expect(await count(1)).toBe(1);
  });

  it('rolls the whole transaction back when the work fails, the first statement’s effects included', async () => {
    await expect(
      inTransactionOpenedBy(ds, literalStatement`SELECT pg_advisory_xact_lock(${990_001}, ${2})`, async (tx) => {
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

  it('leaves the connection usable when the first statement fails', async () => {
    for (let i = 0; i < 25; i++) {
      await expect(inTransactionOpenedBy(ds, literalStatement`SELECT ${1} / ${0}`, async () => undefined)).rejects.toThrow(/division by zero/);
    }
    // More failures than the pool has connections: none was left inside an aborted transaction.
    for (let i = 0; i < 25; i++) expect(await inTransactionOpenedBy<{ n: number }, number>(ds, literalStatement`SELECT ${i} AS n`, async (_tx, [r]) => r.n)).toBe(i);
  });

  it('writes only integers into the statement', () => {
    expect(literalStatement`SELECT ${42}, ${-3}`).toBe('SELECT 42, -3');
    for (const bad of [1.5, NaN, Infinity, '1; DROP TABLE devices' as unknown as number, 2 ** 60]) {
      expect(() => literalStatement`SELECT ${bad}`).toThrow(/not an integer/);
    }
  });
});
