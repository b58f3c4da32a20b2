import { toId, UNISSUED_ID } from './ids';

describe('toId', () => {
  it('reads ids from digits and integer numbers', () => {
    expect(toId('1')).toBe(1);
    expect(toId('007')).toBe(7);
    expect(toId(42)).toBe(42);
    expect(toId(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('looks up ids in range that no row can have as UNISSUED_ID (a 404, not a 500)', () => {
    expect(toId('9007199254740993')).toBe(UNISSUED_ID);
    expect(toId('9223372036854775807')).toBe(UNISSUED_ID);
    expect(toId(2 ** 60)).toBe(UNISSUED_ID);
  });

  it('refuses anything outside 1…2^63−1 and anything that is not an integer', () => {
    for (const v of ['0', '-1', '9223372036854775808', '99999999999999999999', '1.5', '1e3', '0x10', '+7', ' 1', '', 'abc', 0, -3, 1.5, 2 ** 63, Infinity, NaN, null, true, [1]]) {
      expect(toId(v)).toBeNull();
    }
  });
});
