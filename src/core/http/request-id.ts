import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { runWithLogContext } from '../logging/log-context';

const access = new Logger('HTTP');

const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Every response carries X-Request-ID; a sane incoming one is kept so calls can be traced.
 * The rest of the request runs in a log context holding that id (and later the project), and
 * its end is logged with status and duration (never headers or bodies: they carry keys).
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.header('x-request-id');
  const id = incoming && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID();
  (req as Request & { id: string }).id = id;
  res.setHeader('X-Request-ID', id);
  const context = { request_id: id } as { request_id: string; project_id?: number };
  const started = performance.now();
  res.on('finish', () => {
    access.log({
      msg: 'request',
      ...context,
      method: req.method,
      path: req.originalUrl.split('?')[0],
      status: res.statusCode,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  runWithLogContext(context, next);
}
