import { NAME_MAX, RequiredText } from '../../../core/http/field-decorators';
import type { Project } from '../project.entity';

export class CreateProjectDto {
  @RequiredText(NAME_MAX)
  name: string;
}

export interface ProjectResponse {
  id: number;
  org_id: number;
  name: string;
  created_at: string;
}

export const toProjectResponse = (p: Project): ProjectResponse => ({
  id: Number(p.id),
  org_id: Number(p.orgId),
  name: p.name,
  created_at: p.createdAt.toISOString(),
});
