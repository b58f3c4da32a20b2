/** The API's resources as DESIGN.md defines them (fields the console reads). */

export interface Device {
  id: number;
  project_id: number;
  external_id: string;
  name: string;
  tags: string[];
  created_at: string;
  last_seen_at: string | null;
}

export interface Reading {
  id: number;
  device_id: number;
  event_id: string;
  ts: string;
  received_at: string;
  payload: Record<string, unknown>;
}

export interface Bucket {
  start: string;
  count: number;
  sum: number | null;
  avg: number | null;
  min: number | null;
  max: number | null;
}

export interface Aggregate {
  metric: string;
  interval: string;
  buckets: Bucket[];
}

export interface Alert {
  id: number;
  project_id: number;
  device_id: number;
  rule_id: number;
  status: 'firing' | 'acknowledged' | 'resolved' | string;
  severity: string;
  triggered_at: string;
  acknowledged_at: string | null;
  resolved_at: string | null;
  silenced_by?: number[];
  details: { rule?: { name?: string; metric?: string | null; operator?: string | null; threshold?: number | null }; evaluation?: { latest_value?: unknown } } & Record<string, unknown>;
}

export type RuleType = 'threshold' | 'no_data';

export interface Rule {
  id: number;
  project_id: number;
  name: string;
  type?: RuleType;
  metric: string | null;
  operator: string | null;
  threshold: number | null;
  window_n: number | null;
  required_k: number | null;
  for_seconds?: number | null;
  clear_threshold?: number | null;
  no_data_seconds?: number | null;
  cooldown_seconds: number;
  enabled: boolean;
  scope: 'ALL' | 'TAG' | 'EXPLICIT';
  tag: string | null;
  severity: string;
  created_at: string;
  updated_at: string;
}

export interface Webhook {
  id: number;
  project_id: number;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  rate_limit_per_second?: number | null;
  created_at: string;
  updated_at: string;
  secret?: string;
}

export interface Circuit {
  webhook_id: number;
  url: string;
  circuit_breaker: { state: 'closed' | 'open' | 'half_open'; failures: number; opened_at: string | null; next_attempt_at: string | null };
}

export interface Delivery {
  id: number;
  project_id: number;
  alert_id: number | null;
  webhook_id: number;
  event: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  attempt_log?: { attempt: number; at: string; status_code: number | null; error: string | null; duration_ms: number }[];
}

export interface Recurrence {
  days: string[];
  start: string;
  duration_minutes: number;
  timezone: string;
}

export interface Silence {
  id: number;
  project_id: number;
  matchers: { rule_ids?: number[]; device_ids?: number[]; tags?: string[]; severities?: string[] };
  starts_at: string | null;
  ends_at: string | null;
  recurrence: Recurrence | null;
  comment: string | null;
  created_by: string | null;
  state: 'pending' | 'active' | 'expired' | string;
  created_at: string;
  updated_at: string;
}

export interface Org {
  id: number;
  name: string;
  created_at: string;
}

export interface Project {
  id: number;
  org_id: number;
  name: string;
  created_at: string;
}

export interface ApiKeyInfo {
  prefix: string;
  name?: string | null;
  scopes: string[];
  project_id: number;
  created_at?: string;
  revoked_at?: string | null;
  api_key?: string;
}
