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

/** A whole rule as create receives it, and as PATCH must leave it: both validate with this. */
export class RuleDto {
  @RequiredText(NAME_MAX)
  name: string;

  @RequiredText(64)
  metric: string;

  @IsIn(OPERATORS, { message: `operator must be one of ${OPERATORS.join(' ')}` })
  operator: Operator;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  threshold: number;

  @IsInt()
  @Min(1)
  @Max(MAX_WINDOW)
  window_n: number;

  @IsInt()
  @Min(1)
  @Max(MAX_WINDOW)
  required_k: number;

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
  @IsOptional() @RequiredText(64) metric?: string;
  @IsOptional() @IsIn(OPERATORS, { message: `operator must be one of ${OPERATORS.join(' ')}` }) operator?: Operator;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) threshold?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_WINDOW) window_n?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_WINDOW) required_k?: number;
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
  metric: string;
  operator: Operator;
  threshold: number;
  window_n: number;
  required_k: number;
  cooldown_seconds: number;
  enabled: boolean;
  scope: RuleScope;
  tag: string | null;
  severity: Severity;
  created_at: string;
  updated_at: string;
}
