import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../../core/database/transaction';
import { Metrics } from '../../core/metrics/metrics.service';
import { ConflictError, NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { RecordedDeliveries, WebhookDeliveriesService } from '../webhooks/webhook-deliveries.service';
import { AlertEvent, AlertEventsService } from './alert-events.service';
import { AlertFilter, AlertRow, AlertsRepository } from './alerts.repository';
import { AlertResponse, toAlertResponse } from './dto/alert.dto';

const alertNotFound = () => new NotFoundError('ALERT.NOT_FOUND', 'alert not found');

/** An alert change made inside a transaction, with the webhook deliveries it wrote there. */
export interface AlertChange {
  event: AlertEvent;
  deliveries: RecordedDeliveries;
}

@Injectable()
export class AlertsService {
  constructor(
    private readonly repo: AlertsRepository,
    private readonly events: AlertEventsService,
    private readonly devices: DevicesService,
    private readonly webhooks: WebhookDeliveriesService,
    private readonly ds: DataSource,
    private readonly metrics: Metrics,
  ) {}

  async list(scope: TenantScope, filter: AlertFilter, page: PageRequest): Promise<Page<AlertResponse>> {
    return Page.of(await this.repo.list(scope, filter, page), page, toAlertResponse);
  }

  async listForDevice(scope: TenantScope, deviceId: number, page: PageRequest): Promise<Page<AlertResponse>> {
    await this.devices.require(scope, deviceId);
    return this.list(scope, { deviceId }, page);
  }

  async get(scope: TenantScope, alertId: number): Promise<AlertResponse> {
    const row = await this.repo.get(scope, alertId);
    if (!row) throw alertNotFound();
    return toAlertResponse(row);
  }

  /** firing → acknowledged (still open). Acknowledging again changes nothing. */
  async acknowledge(scope: TenantScope, alertId: number): Promise<AlertResponse> {
    const changed = await this.repo.transition(null, scope, alertId, 'acknowledged');
    if (changed) return this.emit(changed, 'alert.acknowledged');
    const current = await this.get(scope, alertId);
    if (current.status === 'resolved') throw new ConflictError('ALERT.RESOLVED', 'alert is already resolved');
    return current;
  }

  /** An operator resolves an open alert. Resolving a resolved alert changes nothing. */
  async resolve(scope: TenantScope, alertId: number): Promise<AlertResponse> {
    const change = await inTransaction(this.ds, (tx) => this.resolveInTx(tx, scope, alertId));
    if (!change) return this.get(scope, alertId);
    await this.afterCommit([change], 'operator');
    return change.event.alert;
  }

  // ---- for rule evaluation, inside its transaction ----

  pairStates(tx: EntityManager, devices: readonly { projectId: number; deviceId: number }[]) {
    return this.repo.pairStates(tx, devices);
  }

  /** Opens an alert and, in the same transaction, writes its webhook deliveries (the outbox). */
  async openInTx(
    tx: EntityManager,
    scope: TenantScope,
    row: { deviceId: number; ruleId: number; severity: string; details: Record<string, unknown> },
  ): Promise<AlertChange | null> {
    const alert = await this.repo.open(tx, scope, row);
    return alert ? this.changeInTx(tx, scope, { type: 'alert.triggered', alert: toAlertResponse(alert) }) : null;
  }

  /** openInTx for many pairs at once, possibly of several projects: one insert, then each alert's deliveries. */
  async openManyInTx(
    tx: EntityManager,
    rows: readonly { scope: TenantScope; deviceId: number; ruleId: number; severity: string; details: Record<string, unknown> }[],
  ): Promise<AlertChange[]> {
    if (!rows.length) return [];
    const scopes = new Map(rows.map((r) => [r.scope.projectId, r.scope]));
    const opened = await this.repo.openMany(tx, rows.map(({ scope, ...r }) => ({ projectId: scope.projectId, ...r })));
    const out: AlertChange[] = [];
    for (const alert of opened) out.push(await this.changeInTx(tx, scopes.get(Number(alert.project_id))!, { type: 'alert.triggered', alert: toAlertResponse(alert) }));
    return out;
  }

  async resolveInTx(tx: EntityManager, scope: TenantScope, alertId: number): Promise<AlertChange | null> {
    const alert = await this.repo.transition(tx, scope, alertId, 'resolved');
    return alert ? this.changeInTx(tx, scope, { type: 'alert.resolved', alert: toAlertResponse(alert) }) : null;
  }

  /**
   * After the transaction committed: queue the deliveries it wrote and tell every live stream.
   * Neither can lose a notification: deliveries not queued here are swept up, and streams are
   * best effort by design.
   */
  async afterCommit(changes: AlertChange[], by: 'evaluation' | 'operator'): Promise<void> {
    if (!changes.length) return;
    for (const c of changes) {
      if (c.event.type === 'alert.triggered') this.metrics.alertsOpened.inc();
      else if (c.event.type === 'alert.resolved') this.metrics.alertsResolved.inc({ by });
    }
    await Promise.all([
      this.webhooks.dispatch(changes.map((c) => c.deliveries)),
      this.events.publish(changes.map((c) => c.event)),
    ]);
  }

  private async changeInTx(tx: EntityManager, scope: TenantScope, event: AlertEvent): Promise<AlertChange> {
    return { event, deliveries: await this.webhooks.recordInTx(tx, scope, event) };
  }

  private async emit(row: AlertRow, type: AlertEvent['type']): Promise<AlertResponse> {
    const alert = toAlertResponse(row);
    await this.events.publish([{ type, alert }]);
    return alert;
  }
}
