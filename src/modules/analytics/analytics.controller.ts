import { Controller, Get, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Tenant } from '../../core/tenancy/tenant-scope';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { AnalyticsService } from './analytics.service';
import { AggregateQuery, StatsQuery } from './dto/analytics-query.dto';

/** Analytics keeps the paths under /telemetry it has always had (DESIGN.md). */
@ApiTags('telemetry')
@ApiSecurity('api-key')
@Controller('telemetry')
export class AnalyticsController {
  constructor(private readonly analytics: AnalyticsService) {}

  @Get('aggregate')
  aggregate(@Tenant() scope: TenantScope, @Query() q: AggregateQuery) {
    return this.analytics.aggregate(scope, q);
  }

  @Get('stats')
  stats(@Tenant() scope: TenantScope, @Query() q: StatsQuery) {
    return this.analytics.stats(scope, q);
  }
}
