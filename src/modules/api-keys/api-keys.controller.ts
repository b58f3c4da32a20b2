import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../core/auth/access.decorators';
import { pageRequest, PageQuery } from '../../core/http/pagination';
import { IdPipe } from '../../core/http/validation';
import { ProjectsService } from '../projects/projects.service';
import { ApiKeysService } from './api-keys.service';
import { CreateApiKeyDto } from './dto/create-api-key.dto';

@ApiTags('api-keys')
@ApiSecurity('admin')
@AdminOnly()
@Controller('projects/:projectId/api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly projects: ProjectsService,
  ) {}

  @Post()
  async create(@Param('projectId', IdPipe) projectId: number, @Body() body: CreateApiKeyDto) {
    return this.keys.create(await this.projects.scopeOf(projectId), body);
  }

  @Get()
  async list(@Param('projectId', IdPipe) projectId: number, @Query() query: PageQuery) {
    return this.keys.list(await this.projects.scopeOf(projectId), pageRequest(query));
  }

  @Delete(':prefix')
  @HttpCode(204)
  async revoke(@Param('projectId', IdPipe) projectId: number, @Param('prefix') prefix: string): Promise<void> {
    await this.keys.revoke(await this.projects.scopeOf(projectId), prefix);
  }
}
