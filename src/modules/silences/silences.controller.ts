import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { pageRequest } from '../../core/http/pagination';
import { IdPipe } from '../../core/http/validation';
import { Tenant } from '../../core/tenancy/tenant-scope';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { CreateSilenceDto, PatchSilenceDto, SilenceListQuery } from './dto/silence.dto';
import { SilencesService } from './silences.service';

@ApiTags('silences')
@ApiSecurity('api-key')
@Controller()
export class SilencesController {
  constructor(private readonly silences: SilencesService) {}

  @Post('projects/:projectId/silences')
  create(@Tenant() scope: TenantScope, @Body() body: CreateSilenceDto) {
    return this.silences.create(scope, body);
  }

  @Get('projects/:projectId/silences')
  list(@Tenant() scope: TenantScope, @Query() q: SilenceListQuery) {
    return this.silences.list(scope, q.state, pageRequest(q));
  }

  @Post('projects/:projectId/silences/preview')
  @HttpCode(200)
  preview(@Tenant() scope: TenantScope, @Body() body: CreateSilenceDto) {
    return this.silences.preview(scope, body);
  }

  @Get('silences/:silenceId')
  get(@Tenant() scope: TenantScope, @Param('silenceId', IdPipe) id: number) {
    return this.silences.get(scope, id);
  }

  @Patch('silences/:silenceId')
  update(@Tenant() scope: TenantScope, @Param('silenceId', IdPipe) id: number, @Body() body: PatchSilenceDto) {
    return this.silences.update(scope, id, body);
  }

  @Delete('silences/:silenceId')
  @HttpCode(204)
  async end(@Tenant() scope: TenantScope, @Param('silenceId', IdPipe) id: number): Promise<void> {
    await this.silences.end(scope, id);
  }
}
