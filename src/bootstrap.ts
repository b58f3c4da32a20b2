import { INestApplication, INestApplicationContext, Logger } from '@nestjs/common';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import type { AppConfig } from './config/app-config';
import { configureHttpApp } from './core/http/http-app';

const LEVELS = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
} as const;

function logger(config: AppConfig): ConsoleLogger {
  return new ConsoleLogger({ json: true, logLevels: [...LEVELS[config.logLevel]] });
}

/** Builds the HTTP app (roles api and all) without listening; tests use it directly. */
export async function createHttpApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: logger(config),
    abortOnError: false,
  });
  configureHttpApp(app, config);
  return app;
}

export async function startHttp(config: AppConfig): Promise<INestApplication> {
  const app = await createHttpApp(config);
  await app.listen(config.port, '0.0.0.0');
  new Logger('Watchpost').log(`${config.role} listening on http://127.0.0.1:${config.port} (docs at /docs)`);
  return app;
}

export async function startWorker(config: AppConfig): Promise<INestApplicationContext> {
  const ctx = await NestFactory.createApplicationContext(AppModule.forRoot({ ...config, role: 'worker' }), {
    logger: logger(config),
    abortOnError: false,
  });
  ctx.enableShutdownHooks();
  new Logger('Watchpost').log('worker started');
  return ctx;
}
