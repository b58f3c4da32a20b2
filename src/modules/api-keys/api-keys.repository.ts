import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import type { PageRequest } from '../../core/http/pagination';
import type { KeyScope, TenantScope } from '../../core/tenancy/tenant-scope';
import { ApiKey } from './api-key.entity';

export interface ActiveKeyRow {
  id: number;
  prefix: string;
  keyHash: string;
  scopes: KeyScope[];
  projectId: number;
  orgId: number;
}

@Injectable()
export class ApiKeysRepository {
  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  async insert(
    scope: TenantScope,
    row: { prefix: string; keyHash: string; name: string | null; scopes: KeyScope[] },
  ): Promise<ApiKey> {
    return this.keys.save(this.keys.create({ ...row, projectId: scope.projectId }));
  }

  list(scope: TenantScope, page: PageRequest): Promise<ApiKey[]> {
    const qb = this.keys
      .createQueryBuilder('k')
      .where('k.project_id = :projectId', { projectId: scope.projectId })
      .orderBy('k.id', 'DESC')
      .limit(page.limit + 1);
    if (page.beforeId !== null) qb.andWhere('k.id < :before', { before: page.beforeId });
    return qb.getMany();
  }

  /** Marks the key revoked; false when the project has no such active key. */
  async revoke(scope: TenantScope, prefix: string): Promise<boolean> {
    const result = await this.keys.update(
      { projectId: scope.projectId, prefix, revokedAt: IsNull() },
      { revokedAt: () => 'now()' },
    );
    return (result.affected ?? 0) > 0;
  }

  /** Looks a key up by its public prefix, for verification; the only unscoped read, by design. */
  async findActiveByPrefix(prefix: string): Promise<ActiveKeyRow | null> {
    const rows: ActiveKeyRow[] = await this.keys.query(
      `SELECT k.id, k.prefix, k.key_hash AS "keyHash", k.scopes, k.project_id AS "projectId", p.org_id AS "orgId"
         FROM api_keys k JOIN projects p ON p.id = k.project_id
        WHERE k.prefix = $1 AND k.revoked_at IS NULL`,
      [prefix],
    );
    return rows[0] ?? null;
  }
}
