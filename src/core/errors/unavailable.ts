/**
 * Whether an error means Postgres or Redis cannot be reached right now (refused, reset or
 * timed-out connections, a server shutting down or starting up, no free connection), as
 * opposed to a bug or bad input. Such a request is answered 503 with Retry-After, never 500,
 * and the caller may try again; see docs/durability.md.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATE: 08xxx connection exceptions; 57P01-03 admin/crash shutdown, cannot connect now;
// 53300 too many connections.
const SQLSTATE = /^(08...|57P0[123]|53300)$/;
const MESSAGES = /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable|the database system is (shutting down|starting up)/i;

export function isUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || SQLSTATE.test(e.code))) return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  // TypeORM wraps the driver's error; Node wraps the attempts of a multi-address connect.
  if (Array.isArray(e.errors) && e.errors.some((x) => isUnavailable(x, depth + 1))) return true;
  return isUnavailable(e.driverError, depth + 1) || isUnavailable(e.cause, depth + 1);
}

/** Seconds a client is asked to wait (Retry-After) when a dependency is away. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * While Postgres cannot be reached, what this process verified within this long (an API key,
 * a device's id) is still trusted, so devices keep sending and their readings wait durably in
 * the queue. Nothing can be revoked or deleted while Postgres is away, and a revocation made
 * before still reaches every process through Redis.
 */
export const TRUSTED_WHILE_UNAVAILABLE_MS = 60 * 60_000;
