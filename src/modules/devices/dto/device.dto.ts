import { ArrayMaxSize, IsArray, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { NAME_MAX, RequiredText, TAG_MAX } from '../../../core/http/field-decorators';
import type { Device } from '../device.entity';

export const MAX_TAGS = 100;

/** Tag lists: strings of at most 64 characters; trimming and de-duplication happen in the service. */
class TagListFields {
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(TAG_MAX, { each: true })
  tags: string[];
}

export class CreateDeviceDto {
  @RequiredText(NAME_MAX)
  external_id: string;

  @RequiredText(NAME_MAX)
  name: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(TAG_MAX, { each: true })
  tags?: string[];
}

export class TagsDto extends TagListFields {}

export class ListDevicesQuery {
  @IsOptional()
  @IsString()
  @MaxLength(TAG_MAX)
  tag?: string;
}

export interface DeviceResponse {
  id: number;
  project_id: number;
  external_id: string;
  name: string;
  tags: string[];
  created_at: string;
  last_seen_at: string | null;
}

export interface DeviceTagsResponse {
  device_id: number;
  tags: string[];
}

export const toDeviceResponse = (d: Device): DeviceResponse => ({
  id: Number(d.id),
  project_id: Number(d.projectId),
  external_id: d.externalId,
  name: d.name,
  tags: d.tags,
  created_at: d.createdAt.toISOString(),
  last_seen_at: d.lastSeenAt ? d.lastSeenAt.toISOString() : null,
});
