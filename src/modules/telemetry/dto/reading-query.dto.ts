import { Type } from 'class-transformer';
import { IsNotEmpty, IsNumber, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { TAG_MAX } from '../../../core/http/field-decorators';
import { LimitField } from '../../../core/http/pagination';
import { TimeRangeQuery } from '../../../core/http/times';

export class LimitQuery extends TimeRangeQuery {
  @LimitField()
  limit?: number;
}

export class RecentReadingsQuery extends LimitQuery {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class SinceQuery {
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  since_ts: number;

  @LimitField()
  limit?: number;
}

export class TagSearchQuery extends LimitQuery {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(TAG_MAX)
  tag: string;
}
