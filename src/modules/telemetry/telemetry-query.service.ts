import { Injectable } from '@nestjs/common';
import { NotFoundError, ValidationError } from '../../core/errors/app-error';
import { DEFAULT_LIMIT, Page } from '../../core/http/pagination';
import { queryTime, timeRange } from '../../core/http/times';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { ReadingResponse, toReadingResponse } from './dto/reading.response';
import { RecentReadingsQuery, SinceQuery, TagSearchQuery } from './dto/reading-query.dto';
import { ReadingRange, ReadingsRepository, StoredReading } from './readings.repository';

const encodeCursor = (r: StoredReading) => Buffer.from(`r:${r.ts.getTime()}:${r.id}`).toString('base64url');

function decodeCursor(cursor: string | undefined): ReadingRange['before'] {
  if (!cursor) return null;
  const m = /^r:(-?\d{1,15}):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw ValidationError.field('cursor', 'cursor is not one this API returned');
  return { ts: new Date(Number(m[1])), id: Number(m[2]) };
}

function page(rows: StoredReading[], limit: number): Page<ReadingResponse> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return new Page(kept.map(toReadingResponse), more ? encodeCursor(kept[kept.length - 1]) : null);
}

/** Reads of a tenant's readings (aggregate and stats: the analytics module). */
@Injectable()
export class TelemetryQueryService {
  constructor(
    private readonly repo: ReadingsRepository,
    private readonly devices: DevicesService,
  ) {}

  async recent(scope: TenantScope, deviceId: number, q: RecentReadingsQuery): Promise<Page<ReadingResponse>> {
    await this.devices.require(scope, deviceId);
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.recent(scope, deviceId, { ...timeRange(q), limit, before: decodeCursor(q.cursor) });
    return page(rows, limit);
  }

  async latest(scope: TenantScope, deviceId: number): Promise<ReadingResponse> {
    await this.devices.require(scope, deviceId);
    const row = await this.repo.latest(scope, deviceId);
    if (!row) throw new NotFoundError('TELEMETRY.NO_READINGS', 'no telemetry for this device');
    return toReadingResponse(row);
  }

  async since(scope: TenantScope, deviceId: number, q: SinceQuery): Promise<ReadingResponse[]> {
    await this.devices.require(scope, deviceId);
    const from = queryTime('since_ts', String(q.since_ts))!;
    // Strictly after since_ts: a client polls with the ts of the last reading it has.
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.recent(scope, deviceId, { from: new Date(from.getTime() + 1), to: null, limit, before: null });
    return rows.slice(0, limit).map(toReadingResponse);
  }

  async searchByTag(scope: TenantScope, q: TagSearchQuery): Promise<Page<ReadingResponse>> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.byTag(scope, q.tag.trim(), { ...timeRange(q), limit, before: decodeCursor(q.cursor) });
    return page(rows, limit);
  }
}
