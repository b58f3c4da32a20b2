import { KnownDevices } from './known-devices';

describe('KnownDevices', () => {
  let t = 0;
  const now = () => t;
  beforeEach(() => (t = 1_000));

  it('recalls a device resolved within the age limit, per project', () => {
    const known = new KnownDevices(60_000, 10, now);
    known.remember(1, 'sensor-1', 42);
    t += 60_000;
    expect(known.recall(1, 'sensor-1')).toBe(42);
    expect(known.recall(2, 'sensor-1')).toBeUndefined();
    t += 1;
    expect(known.recall(1, 'sensor-1')).toBeUndefined();
  });

  it('forgets a device the database no longer has', () => {
    const known = new KnownDevices(60_000, 10, now);
    known.remember(1, 'sensor-1', 42);
    known.remember(1, 'sensor-1', null);
    expect(known.recall(1, 'sensor-1')).toBeUndefined();
  });

  it('drops the least recently resolved device when full', () => {
    const known = new KnownDevices(60_000, 2, now);
    known.remember(1, 'a', 1);
    known.remember(1, 'b', 2);
    known.remember(1, 'a', 1);
    known.remember(1, 'c', 3);
    expect([known.recall(1, 'a'), known.recall(1, 'b'), known.recall(1, 'c')]).toEqual([1, undefined, 3]);
  });
});
