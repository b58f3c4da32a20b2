import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../../core/database/transaction';
import { Metrics } from '../../core/metrics/metrics.service';
import { ConflictError, NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { SilencesService } from '../silences/silences.service';
import type { AlertNotification } from '../webhooks/delivery/webhook-body';
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
    private readonly silences: SilencesService,
    private readonly ds: DataSource,
    private readonly metrics: Metrics,
  ) {}

  /** A filter naming another project's (or no) device or rule is a 404, as everywhere. */
  async list(scope: TenantScope, filter: AlertFilter, page: PageRequest): Promise<Page<AlertResponse>> {
    if (filter.deviceId !== undefined) await this.devices.require(scope, filter.deviceId);
    if (filter.ruleId !== undefined && !(await this.repo.ruleExists(scope, filter.ruleId))) {
      throw new NotFoundError('RULE.NOT_FOUND', 'rule not found');
    }
    const [rows, silencing] = await Promise.all([this.repo.list(scope, filter, page), this.silences.silencer(scope)]);
    return Page.of(rows, page, (row) => toAlertResponse(row, silencing(row)));
  }

  listForDevice(scope: TenantScope, deviceId: number, page: PageRequest): Promise<Page<AlertResponse>> {
    return this.list(scope, { deviceId }, page);
  }

  async get(scope: TenantScope, alertId: number): Promise<AlertResponse> {
    const row = await this.repo.get(scope, alertId);
    if (!row) throw alertNotFound();
    return toAlertResponse(row, await this.silences.silencing(scope, row));
  }

  /** firing → acknowledged (still open). Acknowledging again changes nothing. */
  async acknowledge(scope: TenantScope, alertId: number): Promise<AlertResponse> {
    const changed = await this.repo.transition(null, scope, alertId, 'acknowledged');
    if (changed) return this.emit(scope, changed, 'alert.acknowledged');
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

  pairStatesRead(devices: readonly { projectId: number; deviceId: number }[]) {
    return this.repo.pairStatesRead(devices);
  }

  /** Opens an alert and, in the same transaction, writes its webhook deliveries (the outbox). */
  async openInTx(
    tx: EntityManager,
    scope: TenantScope,
    row: { deviceId: number; ruleId: number; severity: string; details: Record<string, unknown> },
  ): Promise<AlertChange | null> {
    const alert = await this.repo.open(tx, scope, row);
    return alert ? (await this.changesInTx(tx, [{ scope, type: 'alert.triggered', row: alert }]))[0] : null;
  }

  /** openInTx for many pairs at once, possibly of several projects: one insert for the alerts, one for their deliveries. */
  async openManyInTx(
    tx: EntityManager,
    rows: readonly { scope: TenantScope; deviceId: number; ruleId: number; severity: string; details: Record<string, unknown> }[],
  ): Promise<AlertChange[]> {
    if (!rows.length) return [];
    const scopes = new Map(rows.map((r) => [r.scope.projectId, r.scope]));
    const opened = await this.repo.openMany(tx, rows.map(({ scope, ...r }) => ({ projectId: scope.projectId, ...r })));
    return this.changesInTx(tx, opened.map((row) => ({ scope: scopes.get(Number(row.project_id))!, type: 'alert.triggered' as const, row })));
  }

  async resolveInTx(tx: EntityManager, scope: TenantScope, alertId: number): Promise<AlertChange | null> {
    const alert = await this.repo.transition(tx, scope, alertId, 'resolved');
    return alert ? (await this.changesInTx(tx, [{ scope, type: 'alert.resolved', row: alert }]))[0] : null;
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

  /**
   * The mute seam: the silences say which notifications go out now (none while the pair is
   * silenced; see docs/silences.md), and those are written to the outbox.
   */
  private async changesInTx(tx: EntityManager, changes: readonly { scope: TenantScope; type: AlertEvent['type']; row: AlertRow }[]): Promise<AlertChange[]> {
    const made: { scope: TenantScope; event: AlertEvent; notifications: AlertNotification[] }[] = [];
    for (const { scope, type, row } of changes) {
      const silencedBy = await this.silences.silencing(scope, row, tx);
      const event: AlertEvent = { type, alert: toAlertResponse(row, silencedBy) };
      made.push({ scope, event, notifications: await this.silences.deliverableInTx(tx, scope, event, silencedBy, row.muted_event) });
    }
    const recorded = await this.webhooks.recordInTx(tx, made.flatMap(({ scope, notifications }) => notifications.map((n) => ({ scope, n }))));
    let next = 0;
    return made.map(({ scope, event, notifications }) => ({
      event,
      deliveries: { scope, deliveries: recorded.slice(next, (next += notifications.length)).flatMap((r) => r.deliveries) },
    }));
  }

  private async emit(scope: TenantScope, row: AlertRow, type: AlertEvent['type']): Promise<AlertResponse> {
    const alert = toAlertResponse(row, await this.silences.silencing(scope, row));
    await this.events.publish([{ type, alert }]);
    return alert;
  }
}
