import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { AppError, RateLimitedError } from './app-error';
import { errorBody, requestIdOf } from './error-body';
import { isUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from './unavailable';

const HTTP_CODES: Record<number, string> = {
  400: 'REQUEST.BAD_REQUEST',
  401: 'AUTH.UNAUTHORIZED',
  403: 'AUTH.FORBIDDEN',
  404: 'ROUTE.NOT_FOUND',
  405: 'ROUTE.METHOD_NOT_ALLOWED',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMIT.EXCEEDED',
};

/** The single place where anything thrown during a request becomes a response. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');
  private unavailableLoggedAt = 0;

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    if (res.headersSent) return;
    // The body of a request refused for its credentials was never read; rather than read it
    // just to keep the connection, close it: it costs the server nothing more.
    if (!req.complete && exception instanceof AppError && (exception.status === 401 || exception.status === 403)) {
      res.setHeader('Connection', 'close');
    }

    if (exception instanceof AppError) {
      if (exception instanceof RateLimitedError) res.setHeader('Retry-After', String(exception.retryAfterSeconds));
      else if (exception.status === 503) res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      res.status(exception.status).json(errorBody(req, exception.code, exception.message, exception.details));
      return;
    }
    if (exception instanceof ThrottlerException) {
      res.status(429).json(errorBody(req, HTTP_CODES[429], 'rate limit exceeded, retry later'));
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message = status === 404 ? `no route for ${req.method} ${req.path}` : exception.message;
      res.status(status).json(errorBody(req, HTTP_CODES[status] ?? `HTTP.${status}`, message));
      return;
    }
    // Postgres or Redis away is not a bug: the client may retry (docs/durability.md).
    if (isUnavailable(exception)) {
      // Once per 10 s: an outage fails every such request alike.
      if (Date.now() - this.unavailableLoggedAt > 10_000) {
        this.unavailableLoggedAt = Date.now();
        this.logger.warn(`${req.method} ${req.path}: a dependency is unavailable (${(exception as Error).message}); answering 503`);
      }
      res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      res.status(503).json(errorBody(req, 'SERVICE.UNAVAILABLE', 'a dependency (database or queue) is unavailable; retry later'));
      return;
    }
    this.logger.error(
      { msg: 'unhandled error', request_id: requestIdOf(req), method: req.method, path: req.path },
      exception instanceof Error ? exception.stack : String(exception),
    );
    res.status(500).json(errorBody(req, 'INTERNAL', `internal error (request ${requestIdOf(req)})`));
  }
}
