import { nextCheck, silence, sustained } from './timers';

const t0 = new Date('2026-01-01T12:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

describe('no-data silence', () => {
  it('is not silent before no_data_seconds have passed since the clock started', () => {
    expect(silence({ clockAt: t0, lastReadingAt: t0 }, 30, at(29.9))).toMatchObject({ silent: false, deadline: at(30), silentSeconds: 29 });
  });

  it('is silent from the deadline on', () => {
    expect(silence({ clockAt: t0, lastReadingAt: t0 }, 30, at(30))).toMatchObject({ silent: true, silentSeconds: 30 });
  });

  it('counts silent seconds from the last reading, even when the clock started later', () => {
    expect(silence({ clockAt: at(100), lastReadingAt: t0 }, 30, at(130))).toEqual({ silent: true, deadline: at(130), silentSeconds: 130 });
  });

  it('a device that never sent counts from when its clock started', () => {
    expect(silence({ clockAt: at(10), lastReadingAt: null }, 5, at(15))).toMatchObject({ silent: true, silentSeconds: 5 });
  });
});

describe('for_seconds', () => {
  it('with for_seconds 0 the condition holds at once and nothing is pending', () => {
    expect(sustained(true, null, 0, t0)).toEqual({ holds: true, pendingSince: null, dueAt: null });
  });

  it('the first evaluation that holds starts the pending period', () => {
    expect(sustained(true, null, 60, t0)).toEqual({ holds: false, pendingSince: t0, dueAt: at(60) });
  });

  it('holds once the period has passed with the condition holding', () => {
    expect(sustained(true, t0, 60, at(59))).toMatchObject({ holds: false, pendingSince: t0 });
    expect(sustained(true, t0, 60, at(60))).toEqual({ holds: true, pendingSince: t0, dueAt: at(60) });
  });

  it('an evaluation finding the condition false resets it', () => {
    expect(sustained(false, t0, 60, at(30))).toEqual({ holds: false, pendingSince: null, dueAt: null });
    expect(sustained(true, null, 60, at(31))).toMatchObject({ pendingSince: at(31), dueAt: at(91) });
  });
});

describe('next timer check', () => {
  const base = { openAfter: false, holds: false, conditionDue: at(30), lastTriggeredAt: null, cooldownSeconds: 300 };

  it('looks again when the condition comes due', () => {
    expect(nextCheck(base)).toEqual(at(30));
  });

  it('does not look while an alert is open', () => {
    expect(nextCheck({ ...base, openAfter: true, holds: true })).toBeNull();
  });

  it('waits out the cooldown when the condition holds but the last alert is too recent', () => {
    expect(nextCheck({ ...base, holds: true, lastTriggeredAt: at(0) })).toEqual(at(300));
    expect(nextCheck({ ...base, holds: true, lastTriggeredAt: at(-1000) })).toEqual(at(30));
  });
});
