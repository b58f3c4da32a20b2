import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import { OrgResponse, toOrgResponse } from './dto/org.dto';
import { OrgsRepository } from './orgs.repository';

@Injectable()
export class OrgsService {
  constructor(private readonly repo: OrgsRepository) {}

  async create(name: string): Promise<OrgResponse> {
    return toOrgResponse(await this.repo.insert(name));
  }

  async list(page: PageRequest): Promise<Page<OrgResponse>> {
    return Page.of(await this.repo.list(page), page, toOrgResponse);
  }

  async assertExists(id: number): Promise<void> {
    if (!(await this.repo.exists(id))) throw new NotFoundError('ORG.NOT_FOUND', 'org not found');
  }
}
