import { BusinessRuleError, ValidationError } from '../../core/errors/app-error';
import { validateSilence } from './silence-validation';

const now = new Date('2027-01-01T00:00:00Z');
const weekly = { days: ['tue', 'tue'], start: '02:00', duration_minutes: 120, timezone: 'Europe/Berlin' };

describe('validating a silence (create, and PATCH merged)', () => {
  it('keeps the matcher fields given, without repeats, and starts now by default', () => {
    const f = validateSilence({ matchers: { rule_ids: [3, 3, 1], device_ids: [], tags: [' a ', 'a'], severities: null }, ends_at: '2027-01-02T00:00:00Z' }, now);
    expect(f).toEqual({ matchers: { rule_ids: [3, 1], device_ids: [], tags: ['a'] }, startsAt: now, endsAt: new Date('2027-01-02T00:00:00Z'), recurrence: null, comment: null, createdBy: null });
  });

  it('needs a matcher: 422 naming matchers', () => {
    expect(() => validateSilence({ matchers: { rule_ids: [] }, ends_at: '2027-01-02T00:00:00Z' }, now)).toThrow(ValidationError);
  });

  it('a one-off needs an end (422); a recurring one may go on', () => {
    expect(() => validateSilence({ matchers: { severities: ['info'] } }, now)).toThrow(ValidationError);
    expect(validateSilence({ matchers: { severities: ['info'] }, recurrence: weekly }, now)).toMatchObject({ endsAt: null, recurrence: { days: ['tue'] } });
    // Preview does not ask for the end.
    expect(validateSilence({ matchers: { severities: ['info'] } }, now, { requireEnd: false }).endsAt).toBeNull();
  });

  it('an end not after the start, or a one-off over 90 days, is a 400', () => {
    const at = (ends_at: string, recurrence: typeof weekly | null = null) => () => validateSilence({ matchers: { severities: ['info'] }, starts_at: '2027-01-01T00:00:00Z', ends_at, recurrence }, now);
    expect(at('2027-01-01T00:00:00Z')).toThrow(BusinessRuleError);
    expect(at('2026-12-31T00:00:00Z', weekly)).toThrow(BusinessRuleError);
    expect(at('2027-04-01T00:00:01Z')).toThrow(BusinessRuleError);
    expect(at('2027-04-01T00:00:00Z')).not.toThrow();
    // The 90 days bound a one-off only: a recurring series may run longer.
    expect(at('2028-01-01T00:00:00Z', weekly)).not.toThrow();
  });

  it('reads times as the API does: ISO with or without offset, or Unix seconds', () => {
    const f = validateSilence({ matchers: { severities: ['info'] }, starts_at: 1798761600, ends_at: '2027-01-01T02:00:00+01:00' }, now);
    expect(f.startsAt.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(f.endsAt!.toISOString()).toBe('2027-01-01T01:00:00.000Z');
  });
});
