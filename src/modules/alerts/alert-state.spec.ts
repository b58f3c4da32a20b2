import { decide } from './alert-state';

const now = new Date('2026-01-01T12:00:00Z');
const secondsAgo = (s: number) => new Date(now.getTime() - s * 1000);

describe('alert lifecycle decision', () => {
  it('opens when the condition holds and the pair has never fired', () => {
    expect(decide({ openAlertId: null, lastTriggeredAt: null }, true, 300, now)).toBe('open');
  });

  it('does nothing while an alert is open and the condition still holds', () => {
    expect(decide({ openAlertId: 7, lastTriggeredAt: secondsAgo(10) }, true, 0, now)).toBe('none');
  });

  it('resolves the open alert when the condition no longer holds', () => {
    expect(decide({ openAlertId: 7, lastTriggeredAt: secondsAgo(10) }, false, 300, now)).toBe('resolve');
  });

  it('does nothing when nothing is open and the condition does not hold', () => {
    expect(decide({ openAlertId: null, lastTriggeredAt: secondsAgo(1) }, false, 0, now)).toBe('none');
  });

  it('waits out the cooldown since the last trigger, however that alert ended', () => {
    expect(decide({ openAlertId: null, lastTriggeredAt: secondsAgo(299) }, true, 300, now)).toBe('none');
    expect(decide({ openAlertId: null, lastTriggeredAt: secondsAgo(300) }, true, 300, now)).toBe('open');
  });

  it('with cooldown 0 a new alert opens as soon as the last one is resolved', () => {
    expect(decide({ openAlertId: null, lastTriggeredAt: secondsAgo(0) }, true, 0, now)).toBe('open');
  });
});
