/** What one attempt came to, and what follows from it. */
export type AttemptOutcome =
  | { kind: 'success'; statusCode: number }
  | { kind: 'retry'; statusCode: number | null; error: string; retryAfterMs: number | null }
  | { kind: 'fail'; statusCode: number | null; error: string }
  | { kind: 'gone'; statusCode: 410; error: string };

/** Longest wait a `Retry-After` may impose; beyond it the normal backoff applies. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** 2xx succeeds; 408, 429 and 5xx are the subscriber's passing trouble; 410 means "stop"; the rest fail. */
export function classifyResponse(statusCode: number, retryAfter: string | undefined, now = Date.now()): AttemptOutcome {
  if (statusCode >= 200 && statusCode < 300) return { kind: 'success', statusCode };
  if (statusCode === 410) return { kind: 'gone', statusCode, error: 'HTTP 410: the subscriber asked to stop (webhook disabled)' };
  if (statusCode === 408 || statusCode === 429 || statusCode >= 500) {
    return { kind: 'retry', statusCode, error: `HTTP ${statusCode}`, retryAfterMs: parseRetryAfter(retryAfter, now) };
  }
  return { kind: 'fail', statusCode, error: `HTTP ${statusCode}` };
}

/** Timeouts and network errors are retried; a target the SSRF guard refused is not. */
export function classifyError(error: { code?: string; message: string }): AttemptOutcome {
  const code = error.code ? `${error.code}: ` : '';
  if (error.code === 'EUNSAFEADDRESS') return { kind: 'fail', statusCode: null, error: `refused: ${error.message}`.slice(0, 500) };
  return { kind: 'retry', statusCode: null, error: `${code}${error.message}`.slice(0, 500), retryAfterMs: null };
}

/** `Retry-After` as delta-seconds or an HTTP date; null when absent, unreadable or too far off. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * Delay before retry number `retry` (1-based): `base · 2^(retry-1)`, with "equal jitter" (half
 * fixed, half random) so a burst of failures does not come back as a burst. A `Retry-After`
 * the subscriber sent is honoured instead.
 */
export function retryDelayMs(retry: number, baseMs: number, retryAfterMs: number | null, random = Math.random()): number {
  if (retryAfterMs !== null) return retryAfterMs;
  const full = Math.min(baseMs * 2 ** (retry - 1), MAX_RETRY_AFTER_MS);
  return Math.round(full / 2 + (random * full) / 2);
}
