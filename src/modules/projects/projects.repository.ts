import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { PageRequest } from '../../core/http/pagination';
import { Project } from './project.entity';

@Injectable()
export class ProjectsRepository {
  constructor(@InjectRepository(Project) private readonly projects: Repository<Project>) {}

  insert(orgId: number, name: string): Promise<Project> {
    return this.projects.save(this.projects.create({ orgId, name }));
  }

  findById(id: number): Promise<Project | null> {
    return this.projects.findOneBy({ id });
  }

  listByOrg(orgId: number, page: PageRequest): Promise<Project[]> {
    const qb = this.projects
      .createQueryBuilder('p')
      .where('p.org_id = :orgId', { orgId })
      .orderBy('p.id', 'DESC')
      .limit(page.limit + 1);
    if (page.beforeId !== null) qb.andWhere('p.id < :before', { before: page.beforeId });
    return qb.getMany();
  }
}
