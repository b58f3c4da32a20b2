import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { COMMIT_VISIBLE } from '../../core/database/commit-barrier';
import type { PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import type { AttemptLogEntry, DeliveryStatus } from './dto/webhook.dto';

export interface DeliveryRow {
  id: number;
  project_id: number;
  webhook_id: number;
  alert_id: number | null;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  chain_start: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
  attempt_log?: AttemptLogEntry[];
}

/** A delivery this process has claimed, with what it needs to send it. */
export interface ClaimedDelivery {
  id: number;
  webhook_id: number;
  event: string;
  payload: Record<string, unknown>;
  attempts: number;
  chain_start: number;
  url: string;
  /** Every secret of the webhook valid now, newest first: the current one, then any in grace. */
  secrets: string[];
  enabled: boolean;
}

/** Work owed to the queue: the job to (re)create for a delivery. */
export interface DueDelivery {
  id: number;
  org_id: number;
  project_id: number;
  webhook_id: number;
  attempts: number;
  next_attempt_at: Date;
}

export interface AttemptResult {
  status: 'success' | 'retrying' | 'failed';
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: Date | null;
  entry: AttemptLogEntry;
}

const COLUMNS = `id, project_id, webhook_id, alert_id, event, status, attempts, chain_start, last_status_code, last_error,
  CASE WHEN status IN ('pending', 'retrying', 'sending') THEN next_attempt_at END AS next_attempt_at,
  delivered_at, created_at`;

@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * The outbox write, inside the alert changes' transaction, for any number of notifications
   * (of one project or several) in one statement: one delivery per enabled webhook of the
   * notification's project that takes its event, each with the body frozen now (plus the
   * device's external id), so that retries send the same bytes. Ids follow the notifications'
   * order, then webhook id; rows name their notification by (alert_id, event), which is unique
   * among the notifications of one transaction.
   */
  async insertForEvents(
    tx: EntityManager,
    notifications: readonly { projectId: number; event: string; alertId: number; deviceId: number; payload: Record<string, unknown> }[],
  ): Promise<{ id: number; webhook_id: number; alert_id: number; event: string }[]> {
    if (!notifications.length) return [];
    return tx.query(
      `INSERT INTO webhook_deliveries (project_id, webhook_id, alert_id, event, payload)
       SELECT u.project_id, w.id, u.alert_id, u.event,
              u.payload || jsonb_build_object('device_external_id', d.external_id)
         FROM unnest($1::bigint[], $2::bigint[], $3::varchar[], $4::jsonb[], $5::bigint[]) WITH ORDINALITY
                AS u(project_id, alert_id, event, payload, device_id, n)
         JOIN webhooks w ON w.project_id = u.project_id AND w.enabled AND u.event = ANY (w.event_types)
         LEFT JOIN devices d ON d.id = u.device_id
        ORDER BY u.n, w.id
       RETURNING id, webhook_id, alert_id, event`,
      [
        notifications.map((x) => x.projectId),
        notifications.map((x) => x.alertId),
        notifications.map((x) => x.event),
        notifications.map((x) => JSON.stringify(x.payload)),
        notifications.map((x) => x.deviceId),
      ],
    );
  }

  /** A delivery of `payload` to one webhook of the project (a test event), if the webhook exists. */
  async insertOne(scope: TenantScope, webhookId: number, d: { event: string; payload: Record<string, unknown> }): Promise<DeliveryRow | null> {
    const rows = await this.ds.query(
      `INSERT INTO webhook_deliveries (project_id, webhook_id, event, payload)
       SELECT w.project_id, w.id, $3, $4::jsonb FROM webhooks w WHERE w.project_id = $1 AND w.id = $2
       RETURNING ${COLUMNS}`,
      [scope.projectId, webhookId, d.event, d.payload],
    );
    return rows[0] ?? null;
  }

  list(scope: TenantScope, status: DeliveryStatus | undefined, page: PageRequest): Promise<DeliveryRow[]> {
    return this.ds.query(
      `SELECT ${COLUMNS} FROM webhook_deliveries
        WHERE project_id = $1 AND ($3::text IS NULL OR status = $3) AND ($4::bigint IS NULL OR id < $4)
        ORDER BY id DESC LIMIT $2`,
      [scope.projectId, page.limit + 1, status ?? null, page.beforeId],
    );
  }

  async get(scope: TenantScope, id: number): Promise<DeliveryRow | null> {
    const rows = await this.ds.query(`SELECT ${COLUMNS}, attempt_log FROM webhook_deliveries WHERE project_id = $1 AND id = $2`, [
      scope.projectId,
      id,
    ]);
    return rows[0] ?? null;
  }

  /**
   * Takes due deliveries for one attempt each, many in one statement (see DeliveryStates).
   * Only one process can hold a delivery: the row moves to `sending` with a lease, and a lease
   * that lapsed (its holder died) can be taken again, so duplicate or stale jobs find nothing.
   * The claim commits without waiting for its WAL flush (`synchronous_commit` off for this
   * statement's transaction): a crash can lose only the claim, never the delivery (its row was
   * committed durably with its alert change), and a lost claim is a delivery sent again, which
   * an attempt's crash already allows (docs/webhooks.md, "Outcome of an attempt").
   */
  async claimMany(claims: { scope: TenantScope; id: number }[], leaseMs: number): Promise<ClaimedDelivery[]> {
    const [rows] = await this.ds.query(
      `UPDATE webhook_deliveries d SET status = 'sending', lease_until = now() + $3 * interval '1 millisecond'
         FROM webhooks w, unnest($1::bigint[], $2::bigint[]) AS v(id, project_id), ${COMMIT_VISIBLE}
        WHERE d.id = v.id AND d.project_id = v.project_id AND w.id = d.webhook_id
          AND (d.status IN ('pending', 'retrying') OR (d.status = 'sending' AND d.lease_until < now()))
          AND d.next_attempt_at <= now() + interval '1 second'
       RETURNING d.id, d.webhook_id, d.event, d.payload, d.attempts, d.chain_start, w.url, w.enabled,
                 ARRAY[w.secret] || ARRAY(SELECT s.secret FROM webhook_previous_secrets s
                                           WHERE s.webhook_id = w.id AND s.expires_at > now() ORDER BY s.id DESC) AS secrets`,
      [claims.map((c) => c.id), claims.map((c) => c.scope.projectId), leaseMs],
    );
    return rows;
  }

  /** Records attempts and their outcomes, and releases the claims, many in one statement. */
  async finishMany(attempts: { scope: TenantScope; id: number; result: AttemptResult }[]): Promise<void> {
    await this.ds.query(
      `UPDATE webhook_deliveries d SET
          status = v.status, attempts = d.attempts + 1, last_status_code = v.code, last_error = v.error,
          next_attempt_at = coalesce(v.next, d.next_attempt_at), lease_until = NULL,
          delivered_at = CASE WHEN v.status = 'success' THEN now() ELSE d.delivered_at END,
          attempt_log = d.attempt_log || jsonb_build_array(v.entry::jsonb)
         FROM unnest($1::bigint[], $2::bigint[], $3::varchar[], $4::int[], $5::text[], $6::timestamptz[], $7::text[])
              AS v(id, project_id, status, code, error, next, entry)
        WHERE d.id = v.id AND d.project_id = v.project_id`,
      [
        attempts.map((a) => a.id),
        attempts.map((a) => a.scope.projectId),
        attempts.map((a) => a.result.status),
        attempts.map((a) => a.result.statusCode),
        attempts.map((a) => a.result.error),
        attempts.map((a) => a.result.nextAttemptAt),
        attempts.map((a) => JSON.stringify(a.result.entry)),
      ],
    );
  }

  /**
   * Hands back the claim of a delivery that was not sent (no attempt spent): it waits until
   * `until` as before the claim. (Not a postponement: that moves an unclaimed delivery's due
   * time, see postponeMany; docs/webhooks.md, "The delivery path".)
   */
  async unclaim(scope: TenantScope, id: number, until: Date): Promise<void> {
    await this.ds.query(
      `UPDATE webhook_deliveries SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
              next_attempt_at = $3, lease_until = NULL
        WHERE project_id = $1 AND id = $2 AND status = 'sending'`,
      [scope.projectId, id, until],
    );
  }

  /**
   * Postpones waiting (unclaimed) deliveries: held back by an open circuit or waiting for a
   * pacing turn, they become due at their `until` (no attempt spent), many
   * in one statement; returns those that were waiting to be sent (not sending elsewhere,
   * finished or gone), with their new due time.
   */
  async postponeMany(items: { scope: TenantScope; id: number; until: Date }[]): Promise<{ id: number; attempts: number; next_attempt_at: Date }[]> {
    const [rows] = await this.ds.query(
      `UPDATE webhook_deliveries d SET next_attempt_at = greatest(d.next_attempt_at, v.until)
         FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS v(id, project_id, until)
        WHERE d.id = v.id AND d.project_id = v.project_id AND d.status IN ('pending', 'retrying')
       RETURNING d.id, d.attempts, d.next_attempt_at`,
      [items.map((i) => i.id), items.map((i) => i.scope.projectId), items.map((i) => i.until)],
    );
    return rows;
  }

  /** Deliveries of a webhook waiting for a later turn become due now (after a circuit reset). */
  releaseWaiting(scope: TenantScope, webhookId: number): Promise<{ id: number; attempts: number; next_attempt_at: Date }[]> {
    return this.ds
      .query(
        `UPDATE webhook_deliveries SET next_attempt_at = now()
          WHERE project_id = $1 AND webhook_id = $2 AND status IN ('pending', 'retrying') AND next_attempt_at > now()
         RETURNING id, attempts, next_attempt_at`,
        [scope.projectId, webhookId],
      )
      .then(([rows]: [{ id: number; attempts: number; next_attempt_at: Date }[]]) => rows);
  }

  /** A delivery that can no longer be sent ends as failed without an attempt. */
  async abandon(scope: TenantScope, id: number, error: string): Promise<void> {
    await this.ds.query(
      `UPDATE webhook_deliveries SET status = 'failed', last_error = $3, lease_until = NULL
        WHERE project_id = $1 AND id = $2 AND status = 'sending'`,
      [scope.projectId, id, error],
    );
  }

  /** An operator's resend of a finished delivery: a new chain of attempts with a fresh budget. */
  async restart(scope: TenantScope, id: number): Promise<DeliveryRow | null> {
    const [rows] = await this.ds.query(
      `UPDATE webhook_deliveries SET status = 'pending', chain_start = attempts, next_attempt_at = now(),
              lease_until = NULL, last_error = NULL
        WHERE project_id = $1 AND id = $2 AND status IN ('failed', 'success')
       RETURNING ${COLUMNS}`,
      [scope.projectId, id],
    );
    return rows[0] ?? null;
  }

  /**
   * The sweeper's scan, across every project (a system task, not a tenant's request):
   * deliveries owed an attempt whose time passed `graceMs` ago, or whose sender's lease lapsed.
   * Their jobs were lost (a crash between commit and enqueue, a flushed Redis); re-enqueuing is
   * harmless when they were not, since a job only acts on a delivery it can claim.
   */
  findStranded(graceMs: number, limit: number): Promise<DueDelivery[]> {
    return this.ds.query(
      `SELECT d.id, p.org_id, d.project_id, d.webhook_id, d.attempts, d.next_attempt_at
         FROM webhook_deliveries d JOIN projects p ON p.id = d.project_id
        WHERE d.status IN ('pending', 'retrying', 'sending')
          AND d.next_attempt_at < now() - $1 * interval '1 millisecond'
          AND (d.status <> 'sending' OR d.lease_until < now())
        ORDER BY d.next_attempt_at LIMIT $2`,
      [graceMs, limit],
    );
  }
}
