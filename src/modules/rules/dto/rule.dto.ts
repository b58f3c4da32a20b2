import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  IsNotEmpty,
  ValidateIf,
} from 'class-validator';
import { IdField, Trim, NAME_MAX, RequiredText, TAG_MAX } from '../../../core/http/field-decorators';
import { OPERATORS, Operator } from '../evaluation/k-of-n';

export const RULE_SCOPES = ['ALL', 'TAG', 'EXPLICIT'] as const;
export type RuleScope = (typeof RULE_SCOPES)[number];
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const MAX_WINDOW = 10_000;
export const MAX_COOLDOWN = 86_400;
export const RULE_TYPES = ['threshold', 'no_data'] as const;
export type RuleType = (typeof RULE_TYPES)[number];
export const MAX_FOR_SECONDS = 86_400;
export const MIN_NO_DATA_SECONDS = 5;
export const MAX_NO_DATA_SECONDS = 604_800;
/** Fields of threshold rules only: a no-data rule must leave them absent or null. */
export const THRESHOLD_ONLY_FIELDS = ['operator', 'threshold', 'window_n', 'required_k', 'for_seconds', 'clear_threshold'] as const;
/** Fields of no-data rules only. */
export const NO_DATA_ONLY_FIELDS = ['no_data_seconds'] as const;

const isNoData = (o: { type?: RuleType }) => o.type === 'no_data';
const given = (v: unknown) => v !== undefined && v !== null;

/** A whole rule as create receives it, and as PATCH must leave it: both validate with this. */
export class RuleDto {
  @RequiredText(NAME_MAX)
  name: string;

  @IsOptional()
  @IsIn(RULE_TYPES, { message: `type must be one of ${RULE_TYPES.join(' ')}` })
  type?: RuleType;

  /** Required for threshold rules; a no-data rule may leave it null (any reading counts). */
  @ValidateIf((o: RuleDto) => !isNoData(o) || given(o.metric))
  @RequiredText(64)
  metric: string | null;

  // A no-data rule's threshold fields are checked in validateRule (absent or null, else 422).
  @ValidateIf((o: RuleDto) => !isNoData(o))
  @IsIn(OPERATORS, { message: `operator must be one of ${OPERATORS.join(' ')}` })
  operator: Operator | null;

  @ValidateIf((o: RuleDto) => !isNoData(o))
  @IsNumber({ allowNaN: false, allowInfinity: false })
  threshold: number | null;

  @ValidateIf((o: RuleDto) => !isNoData(o))
  @IsInt()
  @Min(1)
  @Max(MAX_WINDOW)
  window_n: number | null;

  @ValidateIf((o: RuleDto) => !isNoData(o))
  @IsInt()
  @Min(1)
  @Max(MAX_WINDOW)
  required_k: number | null;

  @ValidateIf((o: RuleDto) => !isNoData(o) && given(o.for_seconds))
  @IsInt()
  @Min(0)
  @Max(MAX_FOR_SECONDS)
  for_seconds?: number | null;

  @ValidateIf((o: RuleDto) => !isNoData(o) && given(o.clear_threshold))
  @IsNumber({ allowNaN: false, allowInfinity: false })
  clear_threshold?: number | null;

  @ValidateIf((o: RuleDto) => isNoData(o))
  @IsInt()
  @Min(MIN_NO_DATA_SECONDS)
  @Max(MAX_NO_DATA_SECONDS)
  no_data_seconds?: number | null;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_COOLDOWN)
  cooldown_seconds?: number;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @IsOptional()
  @IsIn(RULE_SCOPES)
  scope?: RuleScope;

  @ValidateIf((o: RuleDto) => o.tag !== undefined && o.tag !== null)
  @Trim()
  @IsString()
  @IsNotEmpty()
  @MaxLength(TAG_MAX)
  tag?: string | null;

  @IsOptional()
  @IsIn(SEVERITIES)
  severity?: Severity;
}

/** PATCH: any subset of the fields; the merged rule is validated as a RuleDto. */
export class PatchRuleDto {
  @IsOptional() @RequiredText(NAME_MAX) name?: string;
  @IsOptional() @IsIn(RULE_TYPES, { message: `type must be one of ${RULE_TYPES.join(' ')}` }) type?: RuleType;
  @IsOptional() @RequiredText(64) metric?: string | null;
  @IsOptional() @IsIn(OPERATORS, { message: `operator must be one of ${OPERATORS.join(' ')}` }) operator?: Operator | null;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) threshold?: number | null;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_WINDOW) window_n?: number | null;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_WINDOW) required_k?: number | null;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_FOR_SECONDS) for_seconds?: number | null;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) clear_threshold?: number | null;
  @IsOptional() @IsInt() @Min(MIN_NO_DATA_SECONDS) @Max(MAX_NO_DATA_SECONDS) no_data_seconds?: number | null;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_COOLDOWN) cooldown_seconds?: number;
  @IsOptional() @IsBoolean() enabled?: boolean;
  @IsOptional() @IsIn(RULE_SCOPES) scope?: RuleScope;
  @ValidateIf((o: PatchRuleDto) => o.tag !== undefined && o.tag !== null)
  @Trim()
  @IsString()
  @IsNotEmpty()
  @MaxLength(TAG_MAX)
  tag?: string | null;
  @IsOptional() @IsIn(SEVERITIES) severity?: Severity;
}

export class AssignDevicesDto {
  @IsArray()
  @ArrayMaxSize(10_000)
  @IdField({ each: true })
  device_ids: number[];
}

export interface RuleResponse {
  id: number;
  project_id: number;
  name: string;
  type: RuleType;
  metric: string | null;
  operator: Operator | null;
  threshold: number | null;
  window_n: number | null;
  required_k: number | null;
  for_seconds: number | null;
  clear_threshold: number | null;
  no_data_seconds: number | null;
  cooldown_seconds: number;
  enabled: boolean;
  scope: RuleScope;
  tag: string | null;
  severity: Severity;
  created_at: string;
  updated_at: string;
}
