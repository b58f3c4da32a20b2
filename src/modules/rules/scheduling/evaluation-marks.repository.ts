import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';

export interface EvaluationMark {
  device_id: number;
  project_id: number;
  org_id: number;
  /** When it was marked, in microseconds since the epoch as text (a Date would lose the microseconds). */
  marked_us: string;
}

/** evaluation_marks: devices owed an evaluation that Redis could not take (see the migration). */
@Injectable()
export class EvaluationMarksRepository {
  constructor(private readonly ds: DataSource) {}

  async mark(scope: TenantScope, deviceIds: readonly number[]): Promise<void> {
    await this.ds.query(
      `INSERT INTO evaluation_marks (device_id, project_id)
       SELECT d.id, d.project_id FROM devices d WHERE d.project_id = $1 AND d.id = ANY($2::bigint[])
       ON CONFLICT (device_id) DO UPDATE SET marked_at = clock_timestamp()`,
      [scope.projectId, deviceIds],
    );
  }

  /** The oldest marks, across projects (the sweeper's read). */
  oldest(limit: number): Promise<EvaluationMark[]> {
    return this.ds.query(
      `SELECT m.device_id::int AS device_id, m.project_id::int AS project_id, p.org_id::int AS org_id,
              (extract(epoch FROM m.marked_at) * 1000000)::bigint::text AS marked_us
         FROM evaluation_marks m JOIN projects p ON p.id = m.project_id
        ORDER BY m.marked_at LIMIT $1`,
      [limit],
    );
  }

  /** Removes marks as read; a device marked again since keeps its newer mark. */
  async clear(marks: readonly EvaluationMark[]): Promise<void> {
    if (!marks.length) return;
    await this.ds.query(
      `DELETE FROM evaluation_marks m USING unnest($1::bigint[], $2::bigint[]) AS v(device_id, marked_us)
        WHERE m.device_id = v.device_id AND (extract(epoch FROM m.marked_at) * 1000000)::bigint = v.marked_us`,
      [marks.map((m) => m.device_id), marks.map((m) => m.marked_us)],
    );
  }
}
