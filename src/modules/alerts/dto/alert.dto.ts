import { IsIn, IsOptional } from 'class-validator';
import { IdField } from '../../../core/http/field-decorators';
import { PageQuery } from '../../../core/http/pagination';
import type { AlertRow } from '../alerts.repository';

export const ALERT_STATUS_FILTERS = ['firing', 'acknowledged', 'resolved', 'open'] as const;

export class AlertListQuery extends PageQuery {
  @IsOptional()
  @IsIn(ALERT_STATUS_FILTERS)
  status?: (typeof ALERT_STATUS_FILTERS)[number];

  @IsOptional()
  @IdField()
  device_id?: number;

  @IsOptional()
  @IdField()
  rule_id?: number;
}

export class AlertStreamQuery {
  @IsOptional()
  @IdField()
  device_id?: number;
}

export interface AlertResponse {
  id: number;
  project_id: number;
  device_id: number;
  rule_id: number;
  status: string;
  severity: string;
  triggered_at: string;
  acknowledged_at: string | null;
  resolved_at: string | null;
  /** Ids of the silences muting the alert's pair now. */
  silenced_by: number[];
  details: Record<string, unknown>;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export const toAlertResponse = (a: AlertRow, silencedBy: number[]): AlertResponse => ({
  id: Number(a.id),
  project_id: Number(a.project_id),
  device_id: Number(a.device_id),
  rule_id: Number(a.rule_id),
  status: a.status,
  severity: a.severity,
  triggered_at: new Date(a.triggered_at).toISOString(),
  acknowledged_at: iso(a.acknowledged_at),
  resolved_at: iso(a.resolved_at),
  silenced_by: silencedBy,
  details: a.details,
});
