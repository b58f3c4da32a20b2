import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { Device } from './device.entity';

export type TagChange = 'replace' | 'add' | 'remove';

// Tag edits happen in one UPDATE so concurrent edits never lose each other's tags; the
// ordinality keeps the order the client gave (add) or the stored order (remove).
const TAG_UPDATE: Record<TagChange, string> = {
  replace: `$3::text[]`,
  add: `tags || ARRAY(SELECT t FROM unnest($3::text[]) WITH ORDINALITY AS u(t, o) WHERE NOT t = ANY(tags) ORDER BY o)`,
  remove: `ARRAY(SELECT t FROM unnest(tags) WITH ORDINALITY AS u(t, o) WHERE NOT t = ANY($3::text[]) ORDER BY o)`,
};

const DEVICE_COLUMNS = `id, project_id AS "projectId", external_id AS "externalId", name, tags,
  created_at AS "createdAt", last_seen_at AS "lastSeenAt"`;

@Injectable()
export class DevicesRepository {
  constructor(@InjectRepository(Device) private readonly devices: Repository<Device>) {}

  /** Inserts the device; null when the project already has that external_id. */
  async insert(scope: TenantScope, row: { externalId: string; name: string; tags: string[] }): Promise<Device | null> {
    const rows: Device[] = await this.devices.query(
      `INSERT INTO devices (project_id, external_id, name, tags) VALUES ($1, $2, $3, $4)
       ON CONFLICT (project_id, external_id) DO NOTHING
       RETURNING ${DEVICE_COLUMNS}`,
      [scope.projectId, row.externalId, row.name, row.tags],
    );
    return rows[0] ?? null;
  }

  findById(scope: TenantScope, id: number): Promise<Device | null> {
    return this.devices.findOneBy({ projectId: scope.projectId, id });
  }

  /** The device's id, for every telemetry request: one indexed lookup, no entity built. */
  async idByExternalId(scope: TenantScope, externalId: string): Promise<number | null> {
    const rows: { id: string }[] = await this.devices.query(`SELECT id FROM devices WHERE project_id = $1 AND external_id = $2`, [scope.projectId, externalId]);
    return rows.length ? Number(rows[0].id) : null;
  }

  list(scope: TenantScope, page: PageRequest, tag?: string): Promise<Device[]> {
    const qb = this.devices
      .createQueryBuilder('d')
      .where('d.project_id = :projectId', { projectId: scope.projectId })
      .orderBy('d.id', 'DESC')
      .limit(page.limit + 1);
    if (page.beforeId !== null) qb.andWhere('d.id < :before', { before: page.beforeId });
    if (tag !== undefined) qb.andWhere('d.tags @> ARRAY[:tag]::text[]', { tag });
    return qb.getMany();
  }

  /** Deletes the device; its readings, alerts and rule assignments go with it (ON DELETE CASCADE). */
  async delete(scope: TenantScope, id: number): Promise<boolean> {
    const result = await this.devices.delete({ projectId: scope.projectId, id });
    return (result.affected ?? 0) > 0;
  }

  async changeTags(scope: TenantScope, id: number, change: TagChange, tags: string[]): Promise<string[] | null> {
    const [rows] = (await this.devices.query(
      `UPDATE devices SET tags = ${TAG_UPDATE[change]} WHERE project_id = $1 AND id = $2 RETURNING tags`,
      [scope.projectId, id, tags],
    )) as [{ tags: string[] }[], number];
    return rows[0]?.tags ?? null;
  }

  /** How many of these ids are devices of the project. */
  async countOwned(scope: TenantScope, ids: readonly number[]): Promise<number> {
    const [row] = await this.devices.query(
      `SELECT count(*)::int AS n FROM devices WHERE project_id = $1 AND id = ANY($2::bigint[])`,
      [scope.projectId, ids],
    );
    return row.n;
  }
}
