import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';

export interface WebhookRow {
  id: number;
  project_id: number;
  url: string;
  secret: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, project_id, url, secret, event_types, enabled, disabled_reason, created_at, updated_at';

@Injectable()
export class WebhooksRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(scope: TenantScope, w: { url: string; secret: string; eventTypes: string[] }): Promise<WebhookRow> {
    const [row] = await this.ds.query(
      `INSERT INTO webhooks (project_id, url, secret, event_types) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
      [scope.projectId, w.url, w.secret, w.eventTypes],
    );
    return row;
  }

  list(scope: TenantScope, page: PageRequest): Promise<WebhookRow[]> {
    return this.ds.query(
      `SELECT ${COLUMNS} FROM webhooks WHERE project_id = $1 AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $2`,
      [scope.projectId, page.limit + 1, page.beforeId],
    );
  }

  async get(scope: TenantScope, id: number): Promise<WebhookRow | null> {
    const rows = await this.ds.query(`SELECT ${COLUMNS} FROM webhooks WHERE project_id = $1 AND id = $2`, [scope.projectId, id]);
    return rows[0] ?? null;
  }

  async update(
    scope: TenantScope,
    id: number,
    patch: { url?: string; secret?: string; eventTypes?: string[]; enabled?: boolean; disabledReason?: string | null },
  ): Promise<WebhookRow | null> {
    const [rows] = await this.ds.query(
      `UPDATE webhooks SET
          url = coalesce($3, url),
          secret = coalesce($4, secret),
          event_types = coalesce($5, event_types),
          enabled = coalesce($6, enabled),
          disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason WHEN $6 THEN NULL ELSE $7 END,
          updated_at = now()
        WHERE project_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [scope.projectId, id, patch.url ?? null, patch.secret ?? null, patch.eventTypes ?? null, patch.enabled ?? null, patch.disabledReason ?? null],
    );
    return rows[0] ?? null;
  }

  async delete(scope: TenantScope, id: number): Promise<boolean> {
    const [, count] = await this.ds.query(`DELETE FROM webhooks WHERE project_id = $1 AND id = $2`, [scope.projectId, id]);
    return count > 0;
  }
}
