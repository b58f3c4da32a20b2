import { applyDecorators } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IdField, TAG_MAX } from '../../../core/http/field-decorators';
import { PageQuery } from '../../../core/http/pagination';
import { parseTime } from '../../../core/http/times';
import { DAYS, isTimeZone, START_PATTERN } from '../windows/recurrence';
import type { SilenceState } from '../windows/silence-timing';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const SILENCE_STATES = ['pending', 'active', 'expired'] as const;
/** Ids or tags per matcher field. */
export const MATCHER_MAX = 1000;
export const COMMENT_MAX = 1000;
export const CREATED_BY_MAX = 200;
export const DURATION_MAX_MINUTES = 1440;

/** ISO-8601 (no offset = UTC) or Unix seconds, as everywhere in the API. */
const IsApiTime = () =>
  ValidateBy({
    name: 'isApiTime',
    validator: {
      validate: (v: unknown) => (typeof v === 'string' || typeof v === 'number') && parseTime(v) instanceof Date,
      defaultMessage: (a) => `${a?.property} must be an ISO-8601 time or Unix seconds between 1970 and 3000`,
    },
  });

const Ids = () =>
  applyDecorators(IsOptional(), IsArray(), ArrayMaxSize(MATCHER_MAX), IdField({ each: true }));

export class MatchersDto {
  @Ids()
  rule_ids?: number[];

  @Ids()
  device_ids?: number[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MATCHER_MAX)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(TAG_MAX, { each: true })
  tags?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MATCHER_MAX)
  @IsIn(SEVERITIES, { each: true, message: `each value in severities must be one of ${SEVERITIES.join(', ')}` })
  severities?: string[];
}

export class RecurrenceDto {
  @Transform(({ value }) => (Array.isArray(value) ? value.map((d) => (typeof d === 'string' ? d.trim().toLowerCase() : d)) : value))
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(DAYS.length * 4)
  @IsIn(DAYS, { each: true, message: 'each value in days must be one of mon, tue, wed, thu, fri, sat, sun' })
  days: string[];

  @IsString()
  @Matches(START_PATTERN, { message: 'start must be a local time HH:MM (00:00 to 23:59)' })
  start: string;

  @IsInt()
  @Min(1)
  @Max(DURATION_MAX_MINUTES)
  duration_minutes: number;

  @IsString()
  @ValidateBy({ name: 'isIanaTimeZone', validator: { validate: (v: unknown) => typeof v === 'string' && isTimeZone(v), defaultMessage: () => 'timezone must be an IANA time zone name, such as Europe/Berlin' } })
  timezone: string;
}

/** What create and PATCH share. */
class SilenceChangeDto {
  /** null only for a recurring silence (an open-ended series). */
  @ValidateIf((_o, v) => v !== undefined && v !== null)
  @IsApiTime()
  ends_at?: string | number | null;

  /** null turns a recurring silence into a one-off. */
  @ValidateIf((_o, v) => v !== undefined && v !== null)
  @IsObject()
  @ValidateNested()
  @Type(() => RecurrenceDto)
  recurrence?: RecurrenceDto | null;

  @IsOptional()
  @IsString()
  @MaxLength(COMMENT_MAX)
  comment?: string | null;
}

export class CreateSilenceDto extends SilenceChangeDto {
  @IsObject()
  @ValidateNested()
  @Type(() => MatchersDto)
  matchers: MatchersDto;

  @IsOptional()
  @IsApiTime()
  starts_at?: string | number | null;

  @IsOptional()
  @IsString()
  @MaxLength(CREATED_BY_MAX)
  created_by?: string | null;
}

/** PATCH changes `ends_at`, `comment`, `matchers` and `recurrence`; each may be left out. */
export class PatchSilenceDto extends SilenceChangeDto {
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MatchersDto)
  matchers?: MatchersDto;
}

export class SilenceListQuery extends PageQuery {
  @IsOptional()
  @IsIn(SILENCE_STATES)
  state?: SilenceState;
}

export interface SilenceResponse {
  id: number;
  project_id: number;
  matchers: Record<string, unknown>;
  starts_at: string;
  ends_at: string | null;
  recurrence: Record<string, unknown> | null;
  comment: string | null;
  created_by: string | null;
  state: SilenceState;
  created_at: string;
  updated_at: string;
}

export interface SilencePreviewResponse {
  rule_ids: number[];
  device_ids: number[];
  open_alert_ids: number[];
}
