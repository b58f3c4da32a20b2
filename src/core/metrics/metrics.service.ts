import { Injectable } from '@nestjs/common';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LaneMetrics } from '../lanes/lane-process';
import { Lanes } from '../lanes/lanes.service';
import { JobQueue } from '../queue/job-queue.service';
import { RedisService } from '../redis/redis.service';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'paused'] as const;
const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
/** The default metrics, about the process itself: a lane's are its own, not added to its parent's. */
const PROCESS_METRIC = /^watchpost_(process|nodejs)_/;

/**
 * The process's Prometheus metrics, in one registry. Counters and histograms count what this
 * process did (scrape every api and worker process: a worker serves them on METRICS_PORT);
 * queue depths and circuit states are read from Redis at scrape time, so any process reports
 * the shared picture. A process with lanes (docs/lanes.md) adds their counters and histograms
 * to its own, so its /metrics counts what it and its lanes did.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly readingsAccepted = this.counter('watchpost_readings_accepted_total', 'Readings accepted by POST /telemetry (queued or stored).');
  readonly readingsRejected = this.counter('watchpost_readings_rejected_total', 'Events refused by POST /telemetry validation.');
  readonly bodyBytesRead = this.counter(
    'watchpost_http_body_bytes_read_total',
    'Request body bytes read and parsed (after decompression); bodies of requests refused by authentication are never read.',
  );
  readonly readingsStored = this.counter('watchpost_readings_stored_total', 'Readings written to Postgres by this process (duplicates excluded).');
  readonly readingsFailed = this.counter('watchpost_readings_failed_total', 'Readings Postgres refused to store, kept in failed_readings with the reason (docs/ingest.md).');
  readonly ingestSeconds = new Histogram({
    name: 'watchpost_ingest_duration_seconds',
    help: 'Ingestion latency: stage "accept" is POST /telemetry until answered, "store" a queued batch until durable.',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly evaluationSeconds = new Histogram({
    name: 'watchpost_evaluation_duration_seconds',
    help: 'One device evaluation (every applicable rule, one transaction).',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly alertsOpened = this.counter('watchpost_alerts_opened_total', 'Alerts opened.');
  readonly alertsResolved = new Counter({
    name: 'watchpost_alerts_resolved_total',
    help: 'Alerts resolved, by evaluation or by an operator.',
    labelNames: ['by'],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'watchpost_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (success, retrying, failed), and deliveries held by an open circuit (waiting).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  readonly rollupCatchUps = new Counter({
    name: 'watchpost_rollup_catch_ups_total',
    help: 'Rollup catch-up jobs by outcome: caught_up (rebuilt the project\'s marked hours), yielded (left them to the next window\'s job: the backfill was still arriving). docs/analytics.md.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  readonly apiKeyChecks = new Counter({
    name: 'watchpost_api_key_checks_total',
    help: 'API key verifications that reached the database, by check: bcrypt (the key compared with its stored hash), row (a key already proven against the same stored hash, its row re-read for revocation). docs/architecture.md.',
    labelNames: ['check'],
    registers: [this.registry],
  });

  readonly jobFailures = new Counter({
    name: 'watchpost_job_failures_total',
    help: 'Failed job attempts by queue and job; each is retried after a capped backoff, never given up (see docs/durability.md).',
    labelNames: ['queue', 'job'],
    registers: [this.registry],
  });

  constructor(
    queues: JobQueue,
    redis: RedisService,
    private readonly lanes: Lanes,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'watchpost_' });
    new Gauge({
      name: 'watchpost_queue_jobs',
      help: 'Jobs per queue and state (failed: kept after their last attempt).',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        for (const q of queues.all()) {
          const counts = (await q.getJobCounts()) as unknown as Record<string, number>;
          for (const state of JOB_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'watchpost_lane_ready',
      help: 'Whether each low-priority lane of this process is running and ready (docs/lanes.md); absent without lanes.',
      labelNames: ['lane'],
      registers: [this.registry],
      collect() {
        for (const [lane, ready] of Object.entries(lanes.readiness())) this.set({ lane }, ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'watchpost_webhook_circuit_state',
      help: 'Circuit breaker state per webhook that has one (1 for its current state); webhooks not listed are closed with no failures.',
      labelNames: ['webhook_id', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, found] = await redis.client.scan(cursor, 'MATCH', redis.key('circuit', '*'), 'COUNT', 1000);
          cursor = next;
          keys.push(...found);
        } while (cursor !== '0' && keys.length < 10_000);
        const states = await Promise.all(keys.map((k) => redis.client.hget(k, 'state')));
        keys.forEach((key, i) => {
          const webhookId = key.slice(key.lastIndexOf(':') + 1);
          for (const state of CIRCUIT_STATES) this.set({ webhook_id: webhookId, state }, (states[i] ?? 'closed') === state ? 1 : 0);
        });
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const lanes = (await this.lanes.metrics()).filter((m) => m.length > 0);
    if (!lanes.length) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    // Summed series by series; a metric only this process has (gauges, its own process
    // metrics) is a sum of one, so it stays as it is.
    const summed = (ms: LaneMetrics) => ms.map((m) => ({ ...m, aggregator: 'sum' as const }));
    const own = (await this.registry.getMetricsAsJSON()) as LaneMetrics;
    const merged = AggregatorRegistry.aggregate([summed(own), ...lanes.map(summed)]);
    return { contentType: this.registry.contentType, body: await merged.metrics() };
  }

  /** This process's counters and histograms, without the process metrics: what a lane reports to its parent. */
  ownCounts(): Promise<LaneMetrics> {
    const counts = this.registry.getMetricsAsArray().filter((m) => (m instanceof Counter || m instanceof Histogram) && !PROCESS_METRIC.test(m.name));
    return Promise.all(counts.map((m) => (m as unknown as Counter).get())) as Promise<LaneMetrics>;
  }

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }
}
