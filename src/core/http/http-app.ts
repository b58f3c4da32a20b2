import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express, { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '../../config/app-config';
import { errorBody } from '../errors/error-body';
import { requestIdMiddleware } from './request-id';

/**
 * Body parsing errors happen before Nest's pipeline, so they are shaped here, the same way
 * the exception filter shapes everything else.
 */
function bodyErrorHandler(err: { type?: string; status?: number; message?: string }, req: Request, res: Response, next: NextFunction): void {
  if (err.type === 'entity.too.large') {
    res.status(413).json(errorBody(req, 'REQUEST.TOO_LARGE', 'request body is larger than the limit', { field: 'body' }));
    return;
  }
  if (err.type === 'entity.parse.failed') {
    res.status(400).json(errorBody(req, 'REQUEST.MALFORMED_JSON', 'request body is not valid JSON', { field: 'body' }));
    return;
  }
  if (err.status && err.status >= 400 && err.status < 500) {
    res.status(err.status).json(errorBody(req, 'REQUEST.BAD_BODY', err.message ?? 'unreadable request body', { field: 'body' }));
    return;
  }
  next(err);
}

/** The HTTP pipeline outside Nest's modules, shared by main.ts and the tests. */
export function configureHttpApp(app: INestApplication, config: AppConfig): void {
  (app as INestApplication & { disable?: (s: string) => void }).getHttpAdapter().getInstance().disable('x-powered-by');
  app.use(requestIdMiddleware);
  app.use(express.json({ limit: config.maxBodyBytes, type: ['application/json', 'application/*+json'] }));
  app.use(bodyErrorHandler);

  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Watchpost')
      .setDescription('Multi-tenant telemetry alerting: devices, readings, k-of-n rules, alerts and signed webhooks.')
      .setVersion('1')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' }, 'admin')
      .build(),
  );
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'openapi.json', raw: ['json'] });
}
