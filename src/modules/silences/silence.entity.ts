import type { Matchers } from './matching/project-silences';
import type { Recurrence } from './windows/recurrence';

/** A row of `silences` (raw SQL, no ORM mapping: see silences.repository.ts). */
export interface Silence {
  id: number;
  project_id: number;
  matchers: Matchers;
  starts_at: Date;
  ends_at: Date | null;
  recurrence: Recurrence | null;
  comment: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** What a silence is made of, validated: create writes it, PATCH rewrites it whole. */
export interface SilenceFields {
  matchers: Matchers;
  startsAt: Date;
  endsAt: Date | null;
  recurrence: Recurrence | null;
  comment: string | null;
  createdBy: string | null;
}
