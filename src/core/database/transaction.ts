import { DataSource, EntityManager } from 'typeorm';

/** Runs `work` in one transaction; repositories accept the manager to join it. */
export function inTransaction<T>(ds: DataSource, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return ds.transaction(work);
}

/**
 * A statement without parameters, so that it can travel with its transaction's BEGIN in one
 * round trip (the simple query protocol takes several statements, but no parameters). Made
 * only by `literalStatement`, from integers.
 */
export type LiteralStatement = string & { readonly __literal: true };

/** `sql` with each `${n}` an integer written into it (anything else throws). */
export function literalStatement(strings: TemplateStringsArray, ...ints: number[]): LiteralStatement {
  return strings.reduce((sql, s, i) => {
    if (i === 0) return s;
    const n = ints[i - 1];
    if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
    return `${sql}${n}${s}`;
  }, '') as LiteralStatement;
}

/**
 * As inTransaction, with the transaction's first statement sent with its BEGIN (one round trip
 * instead of two): for the short transactions on the path from a reading to its alert, where
 * every round trip is a wake-up of this process and of its Postgres backend (docs/ingest.md,
 * "Tests and benchmark", item 13). `work` gets the first statement's rows.
 */
export async function inTransactionOpenedBy<R, T>(ds: DataSource, first: LiteralStatement, work: (tx: EntityManager, rows: R[]) => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  try {
    const client = (await runner.connect()) as { query(sql: string): Promise<{ rows: R[] }[]> };
    // TypeORM's own bookkeeping of the transaction this runner is in, as startTransaction leaves
    // it, so that its commit and rollback (ROLLBACK whichever statement failed) serve here.
    Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
    try {
      const [, opened] = await client.query(`START TRANSACTION; ${first}`);
      const out = await work(runner.manager, opened.rows);
      await runner.commitTransaction();
      return out;
    } catch (err) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    }
  } finally {
    await runner.release();
  }
}
