import { classifyError, classifyResponse, parseRetryAfter, retryDelayMs } from './outcome';

describe('delivery outcome', () => {
  it.each([200, 201, 204, 299])('%i is a success', (code) => {
    expect(classifyResponse(code, undefined).kind).toBe('success');
  });

  it.each([408, 429, 500, 502, 503, 504])('%i is retried', (code) => {
    expect(classifyResponse(code, undefined)).toMatchObject({ kind: 'retry', statusCode: code });
  });

  it.each([301, 302, 400, 401, 403, 404, 422])('%i fails at once', (code) => {
    expect(classifyResponse(code, undefined)).toMatchObject({ kind: 'fail', statusCode: code });
  });

  it('410 disables the webhook', () => {
    expect(classifyResponse(410, undefined).kind).toBe('gone');
  });

  it('network errors and timeouts are retried with their code in the error', () => {
    const outcome = classifyError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' });
    expect(outcome).toMatchObject({ kind: 'retry', statusCode: null });
    expect(outcome.kind === 'retry' && outcome.error).toContain('ECONNREFUSED');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('999999', now)).toBe(60 * 60 * 1000);
    expect(classifyResponse(503, '3', now)).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
  });

  it('backs off exponentially with jitter, and Retry-After wins', () => {
    expect(retryDelayMs(1, 5000, null, 0)).toBe(2500);
    expect(retryDelayMs(1, 5000, null, 1)).toBe(5000);
    expect(retryDelayMs(3, 5000, null, 1)).toBe(20_000);
    expect(retryDelayMs(3, 5000, null, 0.5)).toBe(15_000);
    expect(retryDelayMs(3, 5000, 1234, 0.5)).toBe(1234);
  });
});
