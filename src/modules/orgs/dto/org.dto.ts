import { NAME_MAX, RequiredText } from '../../../core/http/field-decorators';
import type { Org } from '../org.entity';

export class CreateOrgDto {
  @RequiredText(NAME_MAX)
  name: string;
}

export interface OrgResponse {
  id: number;
  name: string;
  created_at: string;
}

export const toOrgResponse = (org: Org): OrgResponse => ({
  id: Number(org.id),
  name: org.name,
  created_at: org.createdAt.toISOString(),
});
