import { ValidationError } from '../../core/errors/app-error';
import { parseInterval, WINDOW_SECONDS } from './intervals';

describe('parseInterval', () => {
  it('turns 10s … 1d into seconds', () => {
    expect(parseInterval('10s')).toBe(10);
    expect(parseInterval('90s')).toBe(90);
    expect(parseInterval('1m')).toBe(60);
    expect(parseInterval('5m')).toBe(300);
    expect(parseInterval('1h')).toBe(3600);
    expect(parseInterval('24h')).toBe(86_400);
    expect(parseInterval('1d')).toBe(86_400);
    expect(parseInterval(' 15m ')).toBe(900);
  });

  it.each(['5s', '9s', '2d', '25h', '1441m', '0s', 'abc', '', '1', 'h', '1w', '-1h', '1.5h', '1H'])(
    'refuses %p with a 422 naming interval',
    (raw) => {
      let thrown: unknown;
      try {
        parseInterval(raw);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      const err = thrown as ValidationError;
      expect(err.status).toBe(422);
      expect(err.details).toEqual([{ field: 'interval', message: expect.any(String) }]);
    },
  );
});

describe('WINDOW_SECONDS', () => {
  it('names the stats windows of the API', () => {
    expect(WINDOW_SECONDS).toEqual({ '5m': 300, '15m': 900, '1h': 3600, '24h': 86_400 });
  });
});
