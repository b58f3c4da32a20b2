import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { pageRequest, PageQuery } from '../../core/http/pagination';
import { IdPipe } from '../../core/http/validation';
import { Tenant, TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from './devices.service';
import { CreateDeviceDto, ListDevicesQuery, TagsDto } from './dto/device.dto';

@ApiTags('devices')
@ApiSecurity('api-key')
@Controller('projects/:projectId/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Post()
  create(@Tenant() scope: TenantScope, @Body() body: CreateDeviceDto) {
    return this.devices.create(scope, body);
  }

  @Get()
  list(@Tenant() scope: TenantScope, @Query() page: PageQuery, @Query() filter: ListDevicesQuery) {
    return this.devices.list(scope, pageRequest(page), filter.tag);
  }

  @Get(':deviceId')
  get(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number) {
    return this.devices.get(scope, deviceId);
  }

  @Delete(':deviceId')
  @HttpCode(204)
  async delete(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number): Promise<void> {
    await this.devices.delete(scope, deviceId);
  }

  @Patch(':deviceId/tags')
  replaceTags(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number, @Body() body: TagsDto) {
    return this.devices.changeTags(scope, deviceId, 'replace', body.tags);
  }

  @Post(':deviceId/tags')
  @HttpCode(200)
  addTags(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number, @Body() body: TagsDto) {
    return this.devices.changeTags(scope, deviceId, 'add', body.tags);
  }

  @Delete(':deviceId/tags')
  @HttpCode(200)
  removeTags(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number, @Body() body: TagsDto) {
    return this.devices.changeTags(scope, deviceId, 'remove', body.tags);
  }
}
