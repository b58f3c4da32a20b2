import { Injectable } from '@nestjs/common';
import { BusinessRuleError, NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import type { Device } from './device.entity';
import { DevicesRepository, TagChange } from './devices.repository';
import { DeviceResponse, DeviceTagsResponse, toDeviceResponse } from './dto/device.dto';
import { normalizeTags } from './tags';

const deviceNotFound = () => new NotFoundError('DEVICE.NOT_FOUND', 'device not found');

@Injectable()
export class DevicesService {
  constructor(private readonly repo: DevicesRepository) {}

  async create(scope: TenantScope, input: { external_id: string; name: string; tags?: string[] }): Promise<DeviceResponse> {
    const device = await this.repo.insert(scope, {
      externalId: input.external_id,
      name: input.name,
      tags: normalizeTags(input.tags),
    });
    if (!device) {
      throw new BusinessRuleError('DEVICE.DUPLICATE_EXTERNAL_ID', `a device with external_id "${input.external_id}" already exists`, {
        field: 'external_id',
      });
    }
    return toDeviceResponse(device);
  }

  async list(scope: TenantScope, page: PageRequest, tag?: string): Promise<Page<DeviceResponse>> {
    return Page.of(await this.repo.list(scope, page, tag?.trim()), page, toDeviceResponse);
  }

  async get(scope: TenantScope, id: number): Promise<DeviceResponse> {
    return toDeviceResponse(await this.require(scope, id));
  }

  /** For other modules: the device of this project, or DEVICE.NOT_FOUND. */
  async require(scope: TenantScope, id: number): Promise<Device> {
    const device = await this.repo.findById(scope, id);
    if (!device) throw deviceNotFound();
    return device;
  }

  /** Every id must be a device of this project; one missing is DEVICE.NOT_FOUND. */
  async requireAll(scope: TenantScope, ids: readonly number[]): Promise<void> {
    const unique = [...new Set(ids)];
    if ((await this.repo.countOwned(scope, unique)) !== unique.length) throw deviceNotFound();
  }

  idByExternalId(scope: TenantScope, externalId: string): Promise<number | null> {
    return this.repo.idByExternalId(scope, externalId);
  }

  async delete(scope: TenantScope, id: number): Promise<void> {
    if (!(await this.repo.delete(scope, id))) throw deviceNotFound();
  }

  async changeTags(scope: TenantScope, id: number, change: TagChange, tags: string[]): Promise<DeviceTagsResponse> {
    const result = await this.repo.changeTags(scope, id, change, normalizeTags(tags));
    if (!result) throw deviceNotFound();
    return { device_id: id, tags: result };
  }
}
