import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import express, { Request, RequestHandler, Response } from 'express';
import { from, Observable } from 'rxjs';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { AppError } from '../errors/app-error';
import { forwardToLane, isLargeBody, LANE_ROUTE } from '../lanes/forward-to-lane';
import { Lanes } from '../lanes/lanes.service';
import { Metrics } from '../metrics/metrics.service';
import { ByteBudget, HeldBytes } from './byte-budget';
import { LargeBodyCollector } from './large-body-collector';

type BodyRequest = Request & { heldBytes?: HeldBytes; bodyBytes?: number };

const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** What a body may take in memory before it is read: its length when plain, the limit when compressed. */
function bytesToReserve(req: Request, limit: number): number {
  const length = Number(req.headers['content-length']);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  return encoding === 'identity' && Number.isFinite(length) && length > 0 ? Math.min(length, limit) : limit;
}

/** body-parser's errors in the platform's error shape. */
function toAppError(err: { type?: string; status?: number; message?: string }): Error {
  if (err.type === 'entity.too.large') return new AppError(413, 'REQUEST.TOO_LARGE', 'request body is larger than the limit', { field: 'body' });
  if (err.type === 'entity.parse.failed') return new AppError(400, 'REQUEST.MALFORMED_JSON', 'request body is not valid JSON', { field: 'body' });
  if (err.status && err.status >= 400 && err.status < 500) {
    return new AppError(err.status, 'REQUEST.BAD_BODY', err.message ?? 'unreadable request body', { field: 'body' });
  }
  return err as Error;
}

/**
 * Reads (inflates, parses) a request's JSON body only once the guards have let the request
 * through, so a request without a valid key or admin token costs no more than its headers.
 * The bytes held by bodies being read and handled are bounded across the process: a request
 * whose body does not fit waits for others to finish. See docs/hostile-input.md. A large body
 * of a route marked `@LargeBodiesToLane()` is not read here at all but forwarded to the api's
 * low-priority lane while it runs (docs/lanes.md).
 */
@Injectable()
export class BodyReader implements NestInterceptor {
  private readonly parse: RequestHandler;
  private readonly budget: ByteBudget;
  private readonly limit: number;
  private readonly collector: LargeBodyCollector;
  private readonly laneBodyBytes: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    metrics: Metrics,
    private readonly lanes: Lanes,
    private readonly reflector: Reflector,
  ) {
    this.limit = config.maxBodyBytes;
    this.laneBodyBytes = config.lanes.bodyBytes;
    this.budget = new ByteBudget(Math.max(config.maxBodyBytesInFlight, config.maxBodyBytes));
    this.collector = new LargeBodyCollector(Math.min(config.maxBodyBytesInFlight, config.maxBodyBytes));
    this.parse = express.json({
      limit: config.maxBodyBytes,
      type: ['application/json', 'application/*+json'],
      verify: (req, _res, buf) => {
        metrics.bodyBytesRead.inc(buf.length);
        (req as BodyRequest).bodyBytes = buf.length;
        // A compressed body held the whole limit while it inflated; from here on, its size.
        (req as BodyRequest).heldBytes?.shrinkTo(buf.length);
      },
    });
  }

  async intercept(ctx: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    if (!hasBody(req)) {
      // No body at all: a body of no fields, so a route whose fields are all optional
      // (rotate-secret, api-keys) takes a bare POST and one with required fields names them.
      // (A body that is there but not JSON stays unread: a 422 naming `body`.)
      req.body = {};
      return next.handle();
    }
    const lanePort = this.lanes.apiLanePort();
    if (lanePort !== undefined && this.reflector.get<boolean>(LANE_ROUTE, ctx.getHandler()) && isLargeBody(req, this.laneBodyBytes)) {
      return from(forwardToLane(req, res, lanePort));
    }
    const held = await this.budget.acquire(bytesToReserve(req, this.limit), res);
    (req as BodyRequest).heldBytes = held;
    // Held until the answer is sent: the parsed body lives as long as its request is handled.
    res.once('close', () => {
      held.release();
      this.collector.handled((req as BodyRequest).bodyBytes ?? 0);
    });
    await new Promise<void>((resolve, reject) => this.parse(req, res, (err?: unknown) => (err ? reject(toAppError(err)) : resolve())));
    return next.handle();
  }
}
