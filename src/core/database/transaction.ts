import { DataSource, EntityManager } from 'typeorm';

/** Runs `work` in one transaction; repositories accept the manager to join it. */
export function inTransaction<T>(ds: DataSource, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return ds.transaction(work);
}

/**
 * A read whose parameters are integers or arrays of integers (`$1`, `$2`… in `sql`, none
 * inside a string), with what its rows mean. It runs bound (`runRead`), or travels with its
 * transaction's BEGIN written as literals (`inTransactionOpenedBy`): the simple query protocol
 * takes several statements in one message, but no parameters.
 */
export interface IntegerRead<T> {
  sql: string;
  params: readonly (number | readonly number[])[];
  parse(rows: any[]): T;
}

/** What each read of a list answers, in order. */
export type ReadResults<Rs extends readonly IntegerRead<unknown>[]> = { [K in keyof Rs]: Rs[K] extends IntegerRead<infer U> ? U : never };

export async function runRead<T>(tx: EntityManager, read: IntegerRead<T>): Promise<T> {
  return read.parse(await tx.query(read.sql, read.params as unknown[]));
}

const integer = (n: unknown): string => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Error(`not an integer: ${String(n)}`);
  return String(n);
};

/** `read`'s statement with each `$n` written in as an integer or an `ARRAY[…]` of integers (anything else throws). */
export function literalStatement(read: Pick<IntegerRead<unknown>, 'sql' | 'params'>): string {
  return read.sql.replace(/\$(\d+)\b/g, (_, n: string) => {
    if (!(Number(n) >= 1 && Number(n) <= read.params.length)) throw new Error(`no parameter $${n}`);
    const v = read.params[Number(n) - 1];
    return Array.isArray(v) ? `ARRAY[${v.map(integer).join(', ')}]` : integer(v);
  });
}

/**
 * As inTransaction, with the transaction's first reads sent with its BEGIN (one round trip
 * instead of one per read and one for the BEGIN): for the short transactions on the path from
 * a reading to its alert, where every round trip is a wake-up of this process and of its
 * Postgres backend (docs/ingest.md, "Tests and benchmark", item 13). The reads run in order,
 * each seeing what committed before it ran (a lock taken by the first holds for the others).
 * `work` gets what they answered.
 */
export async function inTransactionOpenedBy<Rs extends readonly IntegerRead<unknown>[], T>(
  ds: DataSource,
  reads: Rs,
  work: (tx: EntityManager, results: ReadResults<Rs>) => Promise<T>,
): Promise<T> {
  const statements = reads.map(literalStatement);
  const runner = ds.createQueryRunner();
  try {
    const client = (await runner.connect()) as { query(sql: string): Promise<{ rows: unknown[] }[] | { rows: unknown[] }> };
    // TypeORM's own bookkeeping of the transaction this runner is in, as startTransaction leaves
    // it, so that its commit and rollback (ROLLBACK whichever statement failed) serve here.
    Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
    try {
      const answer = await client.query(['START TRANSACTION', ...statements].join('; '));
      const [, ...answered] = Array.isArray(answer) ? answer : [answer];
      const results = reads.map((r, i) => r.parse(answered[i].rows)) as ReadResults<Rs>;
      const out = await work(runner.manager, results);
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
