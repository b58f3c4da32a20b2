import { INestApplication, INestApplicationContext, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createServer, Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { AppModule } from './app.module';
import type { AppConfig } from './config/app-config';
import { configureHttpApp } from './core/http/http-app';
import { mountQueueDashboard } from './core/http/queue-dashboard';
import { serveAsLane } from './core/lanes/lane-child';
import { Lanes } from './core/lanes/lanes.service';
import { withinGrace } from './core/lifecycle/grace';
import { ShutdownSignal } from './core/lifecycle/shutdown-signal';
import { PinoLogger } from './core/logging/pino-logger';
import { Metrics } from './core/metrics/metrics.service';
import { JobQueue } from './core/queue/job-queue.service';

const log = new Logger('Watchpost');

/**
 * Left to itself, V8 lets the heap grow to several times the live data between full
 * collections, so bursts of ingestion (many short-lived batch objects) swell a process to a
 * size it then keeps; a fixed factor keeps it smaller at the same throughput (figures in
 * docs/benchmarks.md). The factor is read at every collection, so setting it at start-up,
 * before the app is built, takes effect.
 */
function tuneHeap(config: AppConfig): void {
  if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
}
/** Shorter admin tokens are accepted (DESIGN.md sets no length) but warned about at start. */
const ADVISED_ADMIN_TOKEN_LENGTH = 16;

/** Builds the HTTP app (roles api and all) without listening. */
export async function createHttpApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: new PinoLogger(config.logLevel),
    abortOnError: false,
  });
  configureHttpApp(app, config);
  mountQueueDashboard(app, config);
  return app;
}

export async function startHttp(config: AppConfig): Promise<INestApplication> {
  tuneHeap(config);
  const app = await createHttpApp(config);
  const lane = config.lanes.self !== 'none';
  // A lane is reached by its parent alone.
  await app.listen(config.port, lane ? '127.0.0.1' : '0.0.0.0');
  // An idle keep-alive connection outlives the clients' and proxies' own idle timeouts (60 s
  // is common), so the server never closes one just as a client sends a request on it.
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  if (lane) serveAsLane(config.lanes, app.get(Metrics), (server.address() as { port: number }).port);
  else {
    log.log(`${config.role} listening on http://127.0.0.1:${config.port} (docs at /docs, queues at /admin/queues)`);
    app.get(Lanes).start(config.role);
  }
  if (!lane && config.adminToken.length < ADVISED_ADMIN_TOKEN_LENGTH) {
    log.warn(`ADMIN_TOKEN is shorter than ${ADVISED_ADMIN_TOKEN_LENGTH} characters: anyone who guesses it can create projects and keys`);
  }
  onTermination(async (signal) => {
    log.log(`${signal}: draining (no new requests; finishing those in flight)`);
    app.get(ShutdownSignal).begin();
    await closeHttpServer(app.getHttpServer() as Server, config.shutdownGraceMs);
    if (config.role === 'all') await finishJobs(app, config.shutdownGraceMs);
    await app.close();
  });
  return app;
}

export async function startWorker(config: AppConfig): Promise<INestApplicationContext> {
  tuneHeap(config);
  const ctx = await NestFactory.createApplicationContext(AppModule.forRoot({ ...config, role: 'worker' }), {
    logger: new PinoLogger(config.logLevel),
    abortOnError: false,
  });
  const metricsServer = config.metricsPort ? serveMetrics(ctx.get(Metrics), config.metricsPort) : null;
  if (config.lanes.self !== 'none') serveAsLane(config.lanes, ctx.get(Metrics));
  else {
    log.log(`worker started${metricsServer ? ` (metrics on http://127.0.0.1:${config.metricsPort}/metrics)` : ''}`);
    ctx.get(Lanes).start('worker');
  }
  onTermination(async (signal) => {
    log.log(`${signal}: finishing the jobs in flight; taking no new ones`);
    ctx.get(ShutdownSignal).begin();
    await finishJobs(ctx, config.shutdownGraceMs);
    metricsServer?.close();
    await ctx.close();
  });
  return ctx;
}

/**
 * SIGTERM or SIGINT runs `shutdown` once, then exits; a second signal exits at once. Nothing
 * acknowledged is at risk either way: a 202 means Redis holds the batch, and a job whose
 * worker stops before finishing it goes back to the queue when its lock lapses.
 */
function onTermination(shutdown: (signal: string) => Promise<void>): void {
  let started = false;
  const handler = (signal: NodeJS.Signals) => {
    if (started) process.exit(1);
    started = true;
    shutdown(signal).then(
      () => process.exit(0),
      (err) => {
        log.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** Stops accepting connections and waits for the requests in flight, up to `graceMs`. */
async function closeHttpServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections go as soon as they are idle, so a waiting client is not kept open.
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  const inTime = await withinGrace(closed, graceMs);
  clearInterval(idle);
  if (!inTime) {
    log.warn(`requests still running after ${graceMs} ms; closing their connections`);
    server.closeAllConnections();
  }
}

/** Bull's close stops taking jobs and waits for the active ones, up to `graceMs`. */
async function finishJobs(app: INestApplicationContext, graceMs: number): Promise<void> {
  const closing = Promise.all(app.get(JobQueue).all().map((q) => q.close()));
  if (!(await withinGrace(closing, graceMs))) log.warn(`jobs still running after ${graceMs} ms; they return to the queue when their locks lapse`);
}

/** A worker has no HTTP server of its own; this serves its metrics for Prometheus. */
function serveMetrics(metrics: Metrics, port: number): Server {
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
      (err) => res.writeHead(500).end(String(err)),
    );
  });
  server.listen(port, '0.0.0.0');
  return server;
}
