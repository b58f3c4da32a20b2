import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { IdField, TAG_MAX } from '../../../core/http/field-decorators';
import { TimeRangeQuery } from '../../../core/http/times';

export class MetricQuery extends TimeRangeQuery {
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  metric: string;

  @IsOptional()
  @IdField()
  device_id?: number;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(TAG_MAX)
  tag?: string;
}

export class AggregateQuery extends MetricQuery {
  @IsOptional()
  @IsString()
  @MaxLength(10)
  interval?: string;
}

export const STATS_WINDOWS = ['5m', '15m', '1h', '24h'] as const;

export class StatsQuery extends MetricQuery {
  @IsOptional()
  @IsIn(STATS_WINDOWS)
  window?: (typeof STATS_WINDOWS)[number];
}
