import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireScope } from '../../core/auth/access.decorators';
import { IdPipe } from '../../core/http/validation';
import { LargeBodiesToLane } from '../../core/lanes/forward-to-lane';
import { Tenant } from '../../core/tenancy/tenant-scope';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { IngestBodyDoc } from './dto/ingest.dto';
import { RecentReadingsQuery, SinceQuery, TagSearchQuery } from './dto/reading-query.dto';
import { TelemetryIngestService } from './telemetry-ingest.service';
import { TelemetryQueryService } from './telemetry-query.service';

@ApiTags('telemetry')
@ApiSecurity('api-key')
@Controller('telemetry')
export class TelemetryController {
  constructor(
    private readonly ingest: TelemetryIngestService,
    private readonly query: TelemetryQueryService,
  ) {}

  /** 202 once the batch is queued durably; 201 with per-event results when `wait=true`. */
  @Post()
  @RequireScope('ingest')
  @LargeBodiesToLane()
  @HttpCode(202)
  @ApiBody({ type: IngestBodyDoc })
  @ApiQuery({ name: 'wait', required: false, type: Boolean })
  async post(
    @Tenant() scope: TenantScope,
    @Body() body: unknown,
    @Query('wait') wait: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const waiting = wait === 'true' || wait === '1';
    if (waiting) res.status(201);
    return this.ingest.accept(scope, body, waiting);
  }

  @Get('devices/:deviceId/telemetry')
  recent(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number, @Query() q: RecentReadingsQuery) {
    return this.query.recent(scope, deviceId, q);
  }

  // Both spellings of the old system's paths are served.
  @Get(['devices/:deviceId/telemetry/latest', 'devices/:deviceId/latest'])
  latest(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number) {
    return this.query.latest(scope, deviceId);
  }

  @Get(['devices/:deviceId/telemetry/since', 'devices/:deviceId/since'])
  since(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number, @Query() q: SinceQuery) {
    return this.query.since(scope, deviceId, q);
  }

  @Get('search')
  search(@Tenant() scope: TenantScope, @Query() q: TagSearchQuery) {
    return this.query.searchByTag(scope, q);
  }
}
