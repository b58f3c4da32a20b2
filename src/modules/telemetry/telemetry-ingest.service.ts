import { Injectable, Logger } from '@nestjs/common';
import { BusinessRuleError, NotFoundError, ServiceUnavailableError, ValidationError } from '../../core/errors/app-error';
import { isUnavailable, TRUSTED_WHILE_UNAVAILABLE_MS } from '../../core/errors/unavailable';
import { Metrics } from '../../core/metrics/metrics.service';
import { JobQueue } from '../../core/queue/job-queue.service';
import { ReadingsQuota } from '../../core/rate-limit/readings-quota';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { EvaluationMarks } from '../rules/scheduling/evaluation-marks.service';
import { ArrivalsService } from '../rules/scheduling/arrivals.service';
import { EvaluationScheduler } from '../rules/scheduling/evaluation-scheduler.service';
import { IngestAccepted, IngestStored } from './dto/ingest.dto';
import { KnownDevices } from './ingest/known-devices';
import { parseEnvelope } from './ingest/parse-envelope';
import { MAX_EVENTS, parseEvents, RejectedEvent } from './ingest/parse-events';
import { readingKey, ReadingWriter, WriteOutcome } from './ingest/reading-writer.service';
import { IngestReadingsPayload, ingestJob } from './jobs/ingest-readings.job';
import type { ReadingRow } from './reading-row';

/**
 * How long Redis may take to accept a batch (else the API writes it to Postgres itself) or an
 * evaluation (else the device is marked for evaluation in Postgres).
 */
const ENQUEUE_TIMEOUT_MS = 3_000;

const rejectedOut = (r: RejectedEvent[]) => r.map(({ index, field, error }) => ({ index, field, error }));

function timeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The ingestion path. The API validates a batch, resolves its device within the tenant and
 * puts it on `telemetry-ingest` (or `telemetry-ingest-bulk`, when large) before answering 202 (or stores it itself when Redis cannot
 * take it, or when the client asked to wait). The worker calls `store`.
 */
@Injectable()
export class TelemetryIngestService {
  private readonly logger = new Logger('Ingest');
  private readonly knownDevices = new KnownDevices(TRUSTED_WHILE_UNAVAILABLE_MS);

  constructor(
    private readonly devices: DevicesService,
    private readonly queue: JobQueue,
    private readonly writer: ReadingWriter,
    private readonly evaluations: EvaluationScheduler,
    private readonly evaluationMarks: EvaluationMarks,
    private readonly metrics: Metrics,
    private readonly quota: ReadingsQuota,
    private readonly arrivals: ArrivalsService,
  ) {}

  async accept(scope: TenantScope, body: unknown, wait: boolean): Promise<IngestAccepted | IngestStored> {
    const done = this.metrics.ingestSeconds.startTimer({ stage: 'accept' });
    try {
      return await this.acceptTimed(scope, body, wait);
    } finally {
      done();
    }
  }

  private async acceptTimed(scope: TenantScope, body: unknown, wait: boolean): Promise<IngestAccepted | IngestStored> {
    const { deviceExternalId, events } = parseEnvelope(body);
    if (events.length === 0) throw new BusinessRuleError('TELEMETRY.EMPTY_BATCH', 'events cannot be empty');
    if (events.length > MAX_EVENTS) {
      throw new BusinessRuleError('TELEMETRY.BATCH_TOO_LARGE', `too many events (max ${MAX_EVENTS})`);
    }
    const deviceId = await this.resolveDevice(scope, deviceExternalId);

    const { readings, rejected } = parseEvents(events);
    this.metrics.readingsRejected.inc(rejected.length);
    if (!readings.length) {
      throw new ValidationError(
        rejected.map((r) => ({ field: r.field, message: r.error })),
        'TELEMETRY.NO_VALID_EVENTS',
        `no valid events: all ${rejected.length} were rejected`,
      );
    }
    await this.quota.take(scope, readings.length);
    const payload: IngestReadingsPayload = {
      orgId: scope.orgId,
      projectId: scope.projectId,
      deviceId,
      receivedAt: new Date().toISOString(),
      readings: readings.map((r) => ({ event_id: r.eventId, ts: r.ts, data: r.data })),
    };

    if (wait) {
      const outcome = await this.storeNow(payload);
      this.metrics.readingsAccepted.inc(readings.length);
      const seen = new Set<string>();
      const results = payload.readings.map((r) => {
        const key = readingKey(payload.deviceId, r.event_id);
        const first = !seen.has(key);
        seen.add(key);
        const status = outcome.failed.has(key) ? 'failed' : first && outcome.stored.has(key) ? 'stored' : 'duplicate';
        return { event_id: r.event_id, status: status as 'stored' | 'duplicate' | 'failed' };
      });
      const stored = results.filter((r) => r.status === 'stored').length;
      const duplicates = results.filter((r) => r.status === 'duplicate').length;
      return { stored, duplicates, results, rejected: rejectedOut(rejected) };
    }

    const { job, data } = await ingestJob(payload);
    try {
      await timeout(this.queue.enqueue(job, data), ENQUEUE_TIMEOUT_MS);
    } catch (queueErr) {
      // A 202 promises durability: without Redis the API writes the batch itself, or refuses it.
      this.logger.warn(`queue unavailable (${(queueErr as Error).message}); storing batch directly`);
      await this.store(payload).catch((dbErr) => {
        this.logger.error(`direct store failed too: ${(dbErr as Error).message}`);
        throw new ServiceUnavailableError('TELEMETRY.UNAVAILABLE', 'telemetry cannot be accepted right now; retry later');
      });
    }
    this.metrics.readingsAccepted.inc(readings.length);
    return { queued: readings.length, device_id: payload.deviceId, rejected: rejectedOut(rejected) };
  }

  /**
   * The device's id. While Postgres cannot answer, a device this process resolved lately is
   * taken from memory (its batch waits in the queue until the worker can store it); any other
   * is a 503 with Retry-After (docs/durability.md).
   */
  private async resolveDevice(scope: TenantScope, externalId: string): Promise<number> {
    let deviceId: number | null;
    try {
      deviceId = await this.devices.idByExternalId(scope, externalId);
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      const known = this.knownDevices.recall(scope.projectId, externalId);
      if (known === undefined) throw new ServiceUnavailableError('TELEMETRY.UNAVAILABLE', 'the database is unavailable; retry later');
      return known;
    }
    this.knownDevices.remember(scope.projectId, externalId, deviceId);
    if (deviceId === null) throw new NotFoundError('DEVICE.NOT_FOUND', 'device not found');
    return deviceId;
  }

  /**
   * The worker's path: stores a queued batch through the coalescing writer (marking the
   * device seen in the same statement) and their arrival for no-data rules, asks for the
   * device's evaluation (when its rules need one) as soon as both are visible, and returns (so the job is acknowledged)
   * only once their commits are on disk (one barrier covers both): a crash before that loses
   * the job's acknowledgement, not its readings, and the job runs again. An evaluation that
   * changes anything commits synchronously, which flushes these readings first, so nothing
   * durable ever rests on readings that are not. Every step is safe to repeat, so a job
   * retried after a crash at any point converges.
   */
  async store(payload: IngestReadingsPayload): Promise<void> {
    const done = this.metrics.ingestSeconds.startTimer({ stage: 'store' });
    await this.writeWithArrival(payload, this.writer.write(this.rowsOf(payload)));
    await this.writer.durable();
    done();
  }

  /**
   * wait=true: the batch's own statement, reporting which readings were new. Concurrent
   * requests with the same readings each get their own statement, so the database decides
   * which one stored a reading and the others see it as a duplicate.
   */
  private async storeNow(payload: IngestReadingsPayload): Promise<WriteOutcome> {
    const outcome = await this.writeWithArrival(payload, this.writer.writeNow(this.rowsOf(payload)));
    // The readings and their arrival were committed visible: durable once this resolves.
    await this.writer.durable();
    return outcome;
  }

  /**
   * The batch's readings and their arrival for no-data rules, written side by side (two
   * statements on two connections, so neither waits for the other's round trip): an arrival
   * is the moment the API accepted the batch (`receivedAt`), not the moment it was stored, and
   * both are in before the evaluation is scheduled, so it sees the readings and the moved
   * clock. If the write fails, the job runs again, and a clock never moves back. Then queues
   * that evaluation, when the device's rules need one (ArrivalsService.record): a device whose
   * project has only no-data rules (or none) needs nothing more than the moved clock.
   */
  private async writeWithArrival<T>(payload: IngestReadingsPayload, write: Promise<T>): Promise<T> {
    const [written, evaluate] = await Promise.all([write, this.arrivals.record(payload, payload.deviceId, payload.receivedAt, payload.readings)]);
    if (evaluate) await this.scheduleEvaluation(payload);
    return written;
  }

  private rowsOf(payload: IngestReadingsPayload): ReadingRow[] {
    return payload.readings.map((r) => ({
      projectId: payload.projectId,
      deviceId: payload.deviceId,
      eventId: r.event_id,
      ts: r.ts,
      receivedAt: payload.receivedAt,
      data: r.data,
    }));
  }

  /**
   * Queues the device's evaluation, or, when Redis cannot take it, marks the device in
   * Postgres for the worker's sweeper: readings once stored are always evaluated
   * (docs/durability.md). Fails only when neither can be done.
   */
  private async scheduleEvaluation(payload: IngestReadingsPayload): Promise<void> {
    const scope = { orgId: payload.orgId, projectId: payload.projectId };
    try {
      await timeout(this.evaluations.schedule(scope, [payload.deviceId]), ENQUEUE_TIMEOUT_MS);
    } catch (err) {
      this.logger.warn(`evaluation of device ${payload.deviceId} not queued (${(err as Error).message}); marked for the sweeper`);
      await this.evaluationMarks.mark(scope, [payload.deviceId]);
    }
  }
}
