import { ProjectSilences, SilencedPair } from './project-silences';
import { SilenceCache } from './silence-cache';

const pair = (p: Partial<SilencedPair> = {}): SilencedPair => ({ ruleId: 1, deviceId: 10, severity: 'warning', deviceTags: ['site-a'], ...p });
const always = { startsAt: 0, endsAt: 1_000, recurrence: null };

describe('matching a (rule, device) pair', () => {
  it('needs every given field to match; absent or empty fields match anything', () => {
    const s = new ProjectSilences(
      [
        { id: 1, matchers: { rule_ids: [1] }, timing: always },
        { id: 2, matchers: { device_ids: [11] }, timing: always },
        { id: 3, matchers: { tags: ['site-b', 'site-a'] }, timing: always },
        { id: 4, matchers: { severities: ['critical'] }, timing: always },
        { id: 5, matchers: { rule_ids: [1], tags: ['site-a'], severities: ['warning'], device_ids: [] }, timing: always },
        { id: 6, matchers: { rule_ids: [1], tags: ['site-c'] }, timing: always },
      ],
      0,
      1_000,
    );
    expect(s.silencing(pair(), 500)).toEqual([1, 3, 5]);
    expect(s.silencing(pair({ ruleId: 2, deviceId: 11, severity: 'critical', deviceTags: [] }), 500)).toEqual([2, 4]);
    expect(s.silencing(pair({ ruleId: 2, deviceTags: ['other'] }), 500)).toEqual([]);
  });

  it('only while a silence is active, and says until when the pair stays muted', () => {
    const s = new ProjectSilences(
      [
        { id: 1, matchers: { rule_ids: [1] }, timing: { startsAt: 100, endsAt: 200, recurrence: null } },
        { id: 2, matchers: { device_ids: [10] }, timing: { startsAt: 150, endsAt: 300, recurrence: null } },
        { id: 3, matchers: { device_ids: [99] }, timing: { startsAt: 0, endsAt: 900, recurrence: null } },
      ],
      0,
      1_000,
    );
    expect(s.silencing(pair(), 99)).toEqual([]);
    expect(s.silencing(pair(), 160)).toEqual([1, 2]);
    expect(s.mutedUntil(pair(), 120)).toBe(300);
    expect(s.silencing(pair(), 300)).toEqual([]);
    expect(s.mutedUntil(pair(), 300)).toBe(300);
  });
});

describe('the per-project silence cache', () => {
  it('loads a project once, until dropped or stale', async () => {
    let now = 0;
    let loads = 0;
    const cache = new SilenceCache(async () => (loads++, new ProjectSilences([], now, now + 10_000)), 1_000, 10, () => now);
    await cache.get(1);
    await cache.get(1);
    expect(loads).toBe(1);
    cache.drop(1);
    await cache.get(1);
    expect(loads).toBe(2);
    now = 1_000;
    await cache.get(1);
    expect(loads).toBe(3);
  });

  it('forgets a failed load', async () => {
    let fail = true;
    const cache = new SilenceCache(async () => {
      if (fail) throw new Error('db down');
      return new ProjectSilences([], 0, 10_000);
    }, 1_000);
    await expect(cache.get(1)).rejects.toThrow('db down');
    fail = false;
    await expect(cache.get(1)).resolves.toBeInstanceOf(ProjectSilences);
  });
});
