import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from '../../config/app-config';
import { requestIdMiddleware } from './request-id';

/** The HTTP pipeline outside Nest's modules, shared by main.ts and the tests. */
export function configureHttpApp(app: INestApplication, _config: AppConfig): void {
  (app as INestApplication & { disable?: (s: string) => void }).getHttpAdapter().getInstance().disable('x-powered-by');
  app.use(requestIdMiddleware);
  // Bodies are read by BodyReader, after authentication (docs/hostile-input.md).

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
