import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { OrgsService } from '../orgs/orgs.service';
import { ProjectResponse, toProjectResponse } from './dto/project.dto';
import { ProjectsRepository } from './projects.repository';

@Injectable()
export class ProjectsService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly orgs: OrgsService,
  ) {}

  async create(orgId: number, name: string): Promise<ProjectResponse> {
    await this.orgs.assertExists(orgId);
    return toProjectResponse(await this.repo.insert(orgId, name));
  }

  async list(orgId: number, page: PageRequest): Promise<Page<ProjectResponse>> {
    await this.orgs.assertExists(orgId);
    return Page.of(await this.repo.listByOrg(orgId, page), page, toProjectResponse);
  }

  /** The scope of a project named by an admin route; 404 when there is none. */
  async scopeOf(projectId: number): Promise<TenantScope> {
    const project = await this.repo.findById(projectId);
    if (!project) throw new NotFoundError('PROJECT.NOT_FOUND', 'project not found');
    return { orgId: Number(project.orgId), projectId: Number(project.id) };
  }
}
