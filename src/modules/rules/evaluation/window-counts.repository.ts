import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { SqlParams } from '../../../core/database/sql-params';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { OPERATORS, WindowCondition, WindowCount } from './k-of-n';

/**
 * Rule evaluation's one read of a device's readings (docs/rules.md, "How a device is
 * evaluated"): every k-of-n condition of its rules counted over its newest max(window_n)
 * readings in one statement. Postgres answers a few numbers per condition; the window itself
 * never reaches the worker, whose event loop every other job shares (docs/hostile-input.md,
 * "Fair evaluation").
 */
@Injectable()
export class WindowCountsRepository {
  /** The counts of `conditions`, in their order, within the transaction `tx`. */
  async count(tx: EntityManager, scope: TenantScope, deviceId: number, conditions: readonly WindowCondition[]): Promise<WindowCount[]> {
    if (!conditions.length) return [];
    const q = new SqlParams();
    const [project, device] = [scope.projectId, deviceId].map((v) => q.add(v));
    const limit = q.add(Math.max(...conditions.map((c) => c.window_n)));
    const metrics = [...new Set(conditions.map((c) => c.metric))];
    const slot = new Map(metrics.map((m, k) => [m, k + 1]));
    // device_window (migrations/1764000000015-device-window.ts) walks the device's index
    // newest first, whatever the planner's statistics say, and gives each metric as float8, or
    // null when it is not a JSON number.
    const list = q.add(metrics);
    const latest = metrics.map((m) => `max(w.vals[${slot.get(m)}]) FILTER (WHERE w.rn = 1) AS latest${slot.get(m)}`);
    const counts = conditions.map((c, i) => {
      // The operator is spliced into the SQL: only the four comparisons ever are.
      if (!OPERATORS.includes(c.operator)) throw new Error(`not a rule operator: ${c.operator}`);
      return `count(*) FILTER (WHERE w.rn <= ${q.add(c.window_n)}::int AND w.vals[${slot.get(c.metric)}] ${c.operator} ${q.add(c.threshold)}::float8)::int AS c${i}`;
    });
    const [row]: Record<string, number | null>[] = await tx.query(
      `SELECT count(*)::int AS n, max(w.ms) FILTER (WHERE w.rn = 1) AS latest_ms,
              ${[...latest, ...counts].join(',\n              ')}
         FROM device_window(${project}, ${device}, ${limit}::int, ${list}::text[]) w`,
      q.values,
    );
    const readings = row.n ?? 0;
    const latestTs = row.latest_ms === null ? null : new Date(row.latest_ms).toISOString();
    return conditions.map((c, i) => ({
      match_count: row[`c${i}`] ?? 0,
      considered: Math.min(readings, c.window_n),
      latest_value: row[`latest${slot.get(c.metric)}`] ?? null,
      latest_ts: latestTs,
    }));
  }
}
