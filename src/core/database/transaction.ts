import { DataSource, EntityManager } from 'typeorm';

/** Runs `work` in one transaction; repositories accept the manager to join it. */
export function inTransaction<T>(ds: DataSource, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return ds.transaction(work);
}
