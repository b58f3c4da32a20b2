import { applyDecorators } from '@nestjs/common';
import { ArrayMaxSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';
import { Trim } from '../../../core/http/field-decorators';
import { PageQuery } from '../../../core/http/pagination';

export const WEBHOOK_EVENT_TYPES = ['alert.triggered', 'alert.resolved'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const URL_MAX = 2048;
const SECRET_MAX = 200;
export const RATE_LIMIT_MAX = 10_000;
export const GRACE_SECONDS_MAX = 604_800;
export const GRACE_SECONDS_DEFAULT = 86_400;

/** Deliveries a second to the webhook; null (or left out) for no pace. */
/**
 * A webhook secret as a client may give it (at creation, in a PATCH, in a rotation): any
 * non-empty string (DESIGN.md sets no minimum; a generated one is `whsec_` and 32 random bytes).
 */
const SecretText = () => applyDecorators(IsString(), MinLength(1), MaxLength(SECRET_MAX));

const RatePerSecond = () => applyDecorators(IsOptional(), IsInt(), Min(1), Max(RATE_LIMIT_MAX));

/** PATCH fields may be left out, but not set to null (null is not a value any of them takes). */
const PresentUnlessUndefined = () => ValidateIf((_o: unknown, value: unknown) => value !== undefined);

const HttpUrl = () =>
  IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, allow_underscores: true },
    { message: 'url must be an http or https URL' },
  );

export class CreateWebhookDto {
  @Trim()
  @IsString()
  @MaxLength(URL_MAX)
  @HttpUrl()
  url: string;

  @IsOptional()
  @SecretText()
  secret?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each value in event_types must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  event_types?: WebhookEventType[];

  @RatePerSecond()
  rate_limit_per_second?: number | null;
}

export class PatchWebhookDto {
  @PresentUnlessUndefined()
  @Trim()
  @IsString()
  @MaxLength(URL_MAX)
  @HttpUrl()
  url?: string;

  @PresentUnlessUndefined()
  @SecretText()
  secret?: string;

  @PresentUnlessUndefined()
  @IsArray()
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each value in event_types must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  event_types?: WebhookEventType[];

  @PresentUnlessUndefined()
  @IsBoolean()
  enabled?: boolean;

  /** null removes the pace. */
  @RatePerSecond()
  rate_limit_per_second?: number | null;
}

export class RotateSecretDto {
  @IsOptional()
  @SecretText()
  secret?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(GRACE_SECONDS_MAX)
  grace_seconds?: number;
}

/** The one answer that shows a rotated-in secret. */
export interface RotatedSecretResponse {
  webhook_id: number;
  secret: string;
  previous_secret_expires_at: string;
}

export const DELIVERY_STATUSES = ['pending', 'sending', 'retrying', 'success', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export class DeliveryListQuery extends PageQuery {
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export interface WebhookResponse {
  id: number;
  project_id: number;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  rate_limit_per_second: number | null;
  created_at: string;
  updated_at: string;
}

/** Only the creation answer carries the secret. */
export type CreatedWebhookResponse = WebhookResponse & { secret: string };

export interface CircuitStatusResponse {
  webhook_id: number;
  url: string;
  circuit_breaker: { state: 'closed' | 'open' | 'half_open'; failures: number; opened_at: string | null; next_attempt_at: string | null };
}

export interface AttemptLogEntry {
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface DeliveryResponse {
  id: number;
  project_id: number;
  alert_id: number | null;
  webhook_id: number;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

export type DeliveryDetailResponse = DeliveryResponse & { attempt_log: AttemptLogEntry[] };
