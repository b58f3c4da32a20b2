import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { inTransaction } from '../../core/database/transaction';
import type { PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';

/** A webhook as shown and changed through the API; its secrets are never read back here. */
export interface WebhookRow {
  id: number;
  project_id: number;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  rate_limit_per_second: number | null;
  created_at: Date;
  updated_at: Date;
}

/** What a rotation came to: done (with when the secrets it replaced stop being valid), or refused. */
export type RotationResult = { kind: 'rotated'; previousExpiresAt: Date } | { kind: 'too_many'; valid: number } | { kind: 'not_found' };

const COLUMNS = 'id, project_id, url, event_types, enabled, disabled_reason, rate_limit_per_second, created_at, updated_at';

@Injectable()
export class WebhooksRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(scope: TenantScope, w: { url: string; secret: string; eventTypes: string[]; ratePerSecond: number | null }): Promise<WebhookRow> {
    const [row] = await this.ds.query(
      `INSERT INTO webhooks (project_id, url, secret, event_types, rate_limit_per_second) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [scope.projectId, w.url, w.secret, w.eventTypes, w.ratePerSecond],
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

  /** `ratePerSecond`: undefined leaves it, null removes the pace. */
  async update(
    scope: TenantScope,
    id: number,
    patch: { url?: string; secret?: string; eventTypes?: string[]; enabled?: boolean; disabledReason?: string | null; ratePerSecond?: number | null },
  ): Promise<WebhookRow | null> {
    const [rows] = await this.ds.query(
      `UPDATE webhooks SET
          url = coalesce($3, url),
          secret = coalesce($4, secret),
          event_types = coalesce($5, event_types),
          enabled = coalesce($6, enabled),
          disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason WHEN $6 THEN NULL ELSE $7 END,
          rate_limit_per_second = CASE WHEN $8 THEN $9::integer ELSE rate_limit_per_second END,
          updated_at = now()
        WHERE project_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [
        scope.projectId,
        id,
        patch.url ?? null,
        patch.secret ?? null,
        patch.eventTypes ?? null,
        patch.enabled ?? null,
        patch.disabledReason ?? null,
        patch.ratePerSecond !== undefined,
        patch.ratePerSecond ?? null,
      ],
    );
    return rows[0] ?? null;
  }

  async delete(scope: TenantScope, id: number): Promise<boolean> {
    const [, count] = await this.ds.query(`DELETE FROM webhooks WHERE project_id = $1 AND id = $2`, [scope.projectId, id]);
    return count > 0;
  }

  /**
   * Makes `secret` the current one. With a grace, the replaced secret stays valid until
   * now + grace, and so do older ones still valid (none beyond that: a rotation after a leak
   * must not leave an older secret valid for longer than the one it replaces); without one,
   * every older secret ends now. Refused when more than `maxValid` would be valid. The row
   * lock orders concurrent rotations of one webhook.
   */
  rotateSecret(scope: TenantScope, id: number, secret: string, graceSeconds: number, maxValid: number): Promise<RotationResult> {
    return inTransaction(this.ds, async (tx): Promise<RotationResult> => {
      const [current] = await tx.query(`SELECT secret, now() AS now FROM webhooks WHERE project_id = $1 AND id = $2 FOR UPDATE`, [scope.projectId, id]);
      if (!current) return { kind: 'not_found' };
      await tx.query(`DELETE FROM webhook_previous_secrets WHERE webhook_id = $1 AND expires_at <= now()`, [id]);
      if (graceSeconds === 0) {
        await tx.query(`DELETE FROM webhook_previous_secrets WHERE webhook_id = $1`, [id]);
      } else {
        const [{ n }] = await tx.query(`SELECT count(*)::int AS n FROM webhook_previous_secrets WHERE webhook_id = $1`, [id]);
        // The new secret, the one it replaces and those still valid from earlier rotations.
        if (n + 2 > maxValid) return { kind: 'too_many', valid: n + 1 };
        await tx.query(
          `UPDATE webhook_previous_secrets SET expires_at = least(expires_at, now() + $2 * interval '1 second') WHERE webhook_id = $1`,
          [id, graceSeconds],
        );
        await tx.query(`INSERT INTO webhook_previous_secrets (webhook_id, secret, expires_at) VALUES ($1, $2, now() + $3 * interval '1 second')`, [
          id,
          current.secret,
          graceSeconds,
        ]);
      }
      await tx.query(`UPDATE webhooks SET secret = $3, updated_at = now() WHERE project_id = $1 AND id = $2`, [scope.projectId, id, secret]);
      return { kind: 'rotated', previousExpiresAt: new Date(new Date(current.now).getTime() + graceSeconds * 1000) };
    });
  }

  /**
   * Deletes the secrets whose grace ended, across every project (a system task of the
   * worker); deliveries never sign with them anyway (the claim reads only valid ones).
   */
  async deleteExpiredSecrets(): Promise<number> {
    const [, count] = await this.ds.query(`DELETE FROM webhook_previous_secrets WHERE expires_at <= now()`);
    return count;
  }

  /** A webhook's pace (null: none), or undefined when it is gone. */
  async rateOf(scope: TenantScope, id: number): Promise<number | null | undefined> {
    const rows = await this.ds.query(`SELECT rate_limit_per_second FROM webhooks WHERE project_id = $1 AND id = $2`, [scope.projectId, id]);
    return rows[0]?.rate_limit_per_second;
  }
}
