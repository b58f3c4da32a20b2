import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { pageRequest, PageQuery } from '../../core/http/pagination';
import { IdPipe } from '../../core/http/validation';
import { Tenant } from '../../core/tenancy/tenant-scope';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { AssignDevicesDto, PatchRuleDto, RuleDto } from './dto/rule.dto';
import { RulesService } from './rules.service';

@ApiTags('rules')
@ApiSecurity('api-key')
@Controller()
export class RulesController {
  constructor(private readonly rules: RulesService) {}

  @Post('projects/:projectId/rules')
  create(@Tenant() scope: TenantScope, @Body() body: RuleDto) {
    return this.rules.create(scope, { ...body });
  }

  @Get('projects/:projectId/rules')
  list(@Tenant() scope: TenantScope, @Query() q: PageQuery) {
    return this.rules.list(scope, pageRequest(q));
  }

  @Get('projects/:projectId/rules/enabled')
  listEnabled(@Tenant() scope: TenantScope, @Query() q: PageQuery) {
    return this.rules.list(scope, pageRequest(q), true);
  }

  @Get('rules/:ruleId')
  get(@Tenant() scope: TenantScope, @Param('ruleId', IdPipe) ruleId: number) {
    return this.rules.get(scope, ruleId);
  }

  @Patch('rules/:ruleId')
  update(@Tenant() scope: TenantScope, @Param('ruleId', IdPipe) ruleId: number, @Body() body: PatchRuleDto) {
    return this.rules.update(scope, ruleId, { ...body });
  }

  @Delete('rules/:ruleId')
  @HttpCode(204)
  async delete(@Tenant() scope: TenantScope, @Param('ruleId', IdPipe) ruleId: number): Promise<void> {
    await this.rules.delete(scope, ruleId);
  }

  @Post('rules/:ruleId/devices')
  @HttpCode(204)
  async assign(@Tenant() scope: TenantScope, @Param('ruleId', IdPipe) ruleId: number, @Body() body: AssignDevicesDto): Promise<void> {
    await this.rules.assignDevices(scope, ruleId, body.device_ids);
  }
}
