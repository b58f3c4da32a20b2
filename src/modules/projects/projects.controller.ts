import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../core/auth/access.decorators';
import { pageRequest, PageQuery } from '../../core/http/pagination';
import { IdPipe } from '../../core/http/validation';
import { CreateProjectDto } from './dto/project.dto';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@ApiSecurity('admin')
@AdminOnly()
@Controller('orgs/:orgId/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  create(@Param('orgId', IdPipe) orgId: number, @Body() body: CreateProjectDto) {
    return this.projects.create(orgId, body.name);
  }

  @Get()
  list(@Param('orgId', IdPipe) orgId: number, @Query() query: PageQuery) {
    return this.projects.list(orgId, pageRequest(query));
  }
}
