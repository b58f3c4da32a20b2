import { BusinessRuleError, ValidationError } from '../../core/errors/app-error';
import { parseTime } from '../../core/http/times';
import type { Matchers } from './matching/project-silences';
import type { SilenceFields } from './silence.entity';
import type { Day, Recurrence } from './windows/recurrence';

/** A one-off silence lasts at most this long. */
export const MAX_ONE_OFF_MS = 90 * 86_400_000;

/** A silence as a request describes it, before the checks (create's body, or PATCH merged). */
export interface SilenceInput {
  matchers: Partial<Record<keyof Matchers, unknown[] | null>>;
  starts_at?: string | number | Date | null;
  ends_at?: string | number | Date | null;
  recurrence?: { days: string[]; start: string; duration_minutes: number; timezone: string } | null;
  comment?: string | null;
  created_by?: string | null;
}

const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
const time = (v: string | number | Date): Date => (v instanceof Date ? v : (parseTime(v) as Date));

/**
 * The checks every stored silence passes, on create and on the merged result of a PATCH,
 * after the DTO's field schema: a matcher (422), an end for a one-off (422), then the span
 * (400). Ids of other projects are the service's to check (404).
 */
export function validateSilence(input: SilenceInput, now: Date, opts: { requireEnd: boolean } = { requireEnd: true }): SilenceFields {
  // Fields are kept as given (repeats dropped), empty ones too: an empty field matches anything.
  const m = input.matchers;
  const matchers: Matchers = {};
  if (m.rule_ids) matchers.rule_ids = unique(m.rule_ids as number[]);
  if (m.device_ids) matchers.device_ids = unique(m.device_ids as number[]);
  if (m.tags) matchers.tags = unique((m.tags as string[]).map((t) => t.trim()));
  if (m.severities) matchers.severities = unique(m.severities as string[]);
  if (!Object.values(matchers).some((xs) => xs.length)) {
    throw ValidationError.field('matchers', 'matchers must give at least one non-empty field of rule_ids, device_ids, tags, severities');
  }

  const recurrence: Recurrence | null = input.recurrence
    ? {
        days: [...new Set(input.recurrence.days)] as Day[],
        start: input.recurrence.start,
        duration_minutes: input.recurrence.duration_minutes,
        timezone: input.recurrence.timezone,
      }
    : null;
  const startsAt = input.starts_at === undefined || input.starts_at === null ? now : time(input.starts_at);
  const endsAt = input.ends_at === undefined || input.ends_at === null ? null : time(input.ends_at);
  if (!recurrence && !endsAt && opts.requireEnd) throw ValidationError.field('ends_at', 'ends_at is required for a one-off silence (one without recurrence)');
  if (endsAt && endsAt.getTime() <= startsAt.getTime()) {
    throw new BusinessRuleError('SILENCE.ENDS_BEFORE_START', 'ends_at must be after starts_at', { field: 'ends_at' });
  }
  if (!recurrence && endsAt && endsAt.getTime() - startsAt.getTime() > MAX_ONE_OFF_MS) {
    throw new BusinessRuleError('SILENCE.TOO_LONG', 'a one-off silence may last at most 90 days', { field: 'ends_at' });
  }
  return { matchers, startsAt, endsAt, recurrence, comment: input.comment ?? null, createdBy: input.created_by ?? null };
}
