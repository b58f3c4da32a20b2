import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { PageRequest } from '../../core/http/pagination';
import { Org } from './org.entity';

/** Orgs are the top of the tenancy tree; only admins reach them. */
@Injectable()
export class OrgsRepository {
  constructor(@InjectRepository(Org) private readonly orgs: Repository<Org>) {}

  insert(name: string): Promise<Org> {
    return this.orgs.save(this.orgs.create({ name }));
  }

  exists(id: number): Promise<boolean> {
    return this.orgs.existsBy({ id });
  }

  list(page: PageRequest): Promise<Org[]> {
    const qb = this.orgs.createQueryBuilder('o').orderBy('o.id', 'DESC').limit(page.limit + 1);
    if (page.beforeId !== null) qb.where('o.id < :before', { before: page.beforeId });
    return qb.getMany();
  }
}
