import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** DDL for the readings partitions; the heavy lifting is `ensure_readings_partition` (migration). */
@Injectable()
export class PartitionRepository {
  constructor(private readonly ds: DataSource) {}

  async ensureDays(fromOffset: number, toOffset: number): Promise<string[]> {
    const rows: { day: string; created: boolean }[] = await this.ds.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, ensure_readings_partition(day) AS created
         FROM (SELECT (now() AT TIME ZONE 'UTC')::date + d AS day FROM generate_series($1::int, $2::int) AS d) days`,
      [fromOffset, toOffset],
    );
    return rows.filter((r) => r.created).map((r) => r.day);
  }

  /**
   * Drops whole daily partitions that end before the cutoff (a UTC midnight), old rows of the
   * default one, and the identities of the readings dropped (their ts is the reading's).
   */
  async dropBefore(cutoff: Date): Promise<string[]> {
    const parts: { name: string }[] = await this.ds.query(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'readings' AND c.relname ~ '^readings_p[0-9]{8}$'
          AND to_date(substring(c.relname from 11), 'YYYYMMDD') + 1 <= ($1::timestamptz AT TIME ZONE 'UTC')::date`,
      [cutoff],
    );
    for (const { name } of parts) await this.ds.query(`DROP TABLE IF EXISTS "${name}"`);
    await this.ds.query(`DELETE FROM readings_default WHERE ts < $1`, [cutoff]);
    await this.ds.query(`DELETE FROM reading_identities WHERE ts < $1`, [cutoff]);
    return parts.map((p) => p.name);
  }
}
