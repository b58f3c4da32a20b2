/** The alert fields a webhook body carries; AlertsService's alert responses have this shape. */
export interface NotifiedAlert {
  id: number;
  project_id: number;
  device_id: number;
  rule_id: number;
  status: string;
  severity: string;
  triggered_at: string;
  resolved_at: string | null;
  details: Record<string, unknown>;
}

/** An alert change that subscribers hear about. */
export interface AlertNotification {
  type: string;
  alert: NotifiedAlert;
}

/** The body, less `device_external_id` (the outbox insert adds it from the device row). */
export function toDeliveryPayload(n: AlertNotification): Record<string, unknown> {
  const a = n.alert;
  return {
    event: n.type,
    alert_id: a.id,
    project_id: a.project_id,
    device_id: a.device_id,
    rule_id: a.rule_id,
    status: a.status,
    severity: a.severity,
    triggered_at: a.triggered_at,
    resolved_at: a.resolved_at,
    details: a.details,
  };
}

/** The event of `POST /webhooks/{id}/test`. */
export const TEST_EVENT = 'webhook.test';

/** A test event's body: the alert's shape, its alert fields null. */
export function testPayload(projectId: number): Record<string, unknown> {
  return { event: TEST_EVENT, project_id: projectId };
}

const FIELD_ORDER = ['event', 'alert_id', 'project_id', 'device_id', 'device_external_id', 'rule_id', 'status', 'severity', 'triggered_at', 'resolved_at', 'details'];

/** The exact bytes sent and signed: the design's field order, the same on every retry. */
export function renderBody(payload: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(FIELD_ORDER.map((k) => [k, payload[k] ?? null])));
}
