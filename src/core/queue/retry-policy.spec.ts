import { cappedBackoff, RETRY_CAP_MS, retryForever } from './retry-policy';

describe('capped backoff', () => {
  const noJitter = () => 0;
  const opts = { delay: 500, max: RETRY_CAP_MS };

  it('doubles from the first delay', () => {
    expect([1, 2, 3, 4].map((n) => cappedBackoff(n, undefined, opts, noJitter))).toEqual([500, 1000, 2000, 4000]);
  });

  it('never waits longer than the cap, however many attempts were made', () => {
    for (const n of [7, 8, 20, 1000, 1e9]) expect(cappedBackoff(n, undefined, opts, noJitter)).toBe(RETRY_CAP_MS);
  });

  it('takes up to a quarter off at random', () => {
    expect(cappedBackoff(100, undefined, opts, () => 1)).toBe(RETRY_CAP_MS * 0.75);
    expect(cappedBackoff(1, undefined, opts, () => 0.5)).toBe(438);
  });
});

describe('retryForever', () => {
  it('has no finite attempt budget and never removes a failed job', () => {
    const o = retryForever(200);
    expect(o.attempts).toBe(Number.MAX_SAFE_INTEGER);
    expect(o.removeOnFail).toBe(false);
    expect(o.backoff).toMatchObject({ type: 'capped-exponential' });
  });
});
