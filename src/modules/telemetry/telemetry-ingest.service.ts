import { Injectable, Logger } from '@nestjs/common';
import { BusinessRuleError, NotFoundError, ServiceUnavailableError, ValidationError } from '../../core/errors/app-error';
import { Metrics } from '../../core/metrics/metrics.service';
import { JobQueue } from '../../core/queue/job-queue.service';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import { EvaluationScheduler } from '../rules/scheduling/evaluation-scheduler.service';
import { IngestAccepted, IngestStored } from './dto/ingest.dto';
import { parseEnvelope } from './ingest/parse-envelope';
import { MAX_EVENTS, parseEvents, RejectedEvent } from './ingest/parse-events';
import { readingKey, ReadingWriter, WriteOutcome } from './ingest/reading-writer.service';
import { IngestReadingsPayload, ingestReadingsJob } from './jobs/ingest-readings.job';
import { ReadingRow } from './readings.repository';

/** How long the API waits for Redis to take a batch before writing it to Postgres itself. */
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
 * puts it on `telemetry-ingest` before answering 202 (or stores it itself when Redis cannot
 * take it, or when the client asked to wait). The worker calls `store`.
 */
@Injectable()
export class TelemetryIngestService {
  private readonly logger = new Logger('Ingest');

  constructor(
    private readonly devices: DevicesService,
    private readonly queue: JobQueue,
    private readonly writer: ReadingWriter,
    private readonly evaluations: EvaluationScheduler,
    private readonly metrics: Metrics,
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
    const device = await this.devices.findByExternalId(scope, deviceExternalId);
    if (!device) throw new NotFoundError('DEVICE.NOT_FOUND', 'device not found');

    const { readings, rejected } = parseEvents(events);
    this.metrics.readingsRejected.inc(rejected.length);
    if (!readings.length) {
      throw new ValidationError(
        rejected.map((r) => ({ field: r.field, message: r.error })),
        'TELEMETRY.NO_VALID_EVENTS',
        `no valid events: all ${rejected.length} were rejected`,
      );
    }
    const payload: IngestReadingsPayload = {
      orgId: scope.orgId,
      projectId: scope.projectId,
      deviceId: Number(device.id),
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

    try {
      await timeout(this.queue.enqueue(ingestReadingsJob, payload), ENQUEUE_TIMEOUT_MS);
    } catch (queueErr) {
      // A 202 promises durability: without Redis the API writes the batch itself, or refuses it.
      this.logger.warn(`queue unavailable (${(queueErr as Error).message}); storing batch directly`);
      await this.store(payload, { tolerateSchedulingFailure: true }).catch((dbErr) => {
        this.logger.error(`direct store failed too: ${(dbErr as Error).message}`);
        throw new ServiceUnavailableError('TELEMETRY.UNAVAILABLE', 'telemetry cannot be accepted right now; retry later');
      });
    }
    this.metrics.readingsAccepted.inc(readings.length);
    return { queued: readings.length, device_id: payload.deviceId, rejected: rejectedOut(rejected) };
  }

  /**
   * The worker's path: makes a queued batch durable through the coalescing writer (marking
   * the device seen in the same statement), then asks for the device's evaluation. Every step
   * is safe to repeat, so a job retried after a crash at any point converges.
   */
  async store(payload: IngestReadingsPayload, opts: { tolerateSchedulingFailure?: boolean } = {}): Promise<void> {
    const done = this.metrics.ingestSeconds.startTimer({ stage: 'store' });
    await this.writer.write(this.rowsOf(payload));
    done();
    await this.scheduleEvaluation(payload, opts.tolerateSchedulingFailure ?? false);
  }

  /**
   * wait=true: the batch's own statement, reporting which readings were new. Concurrent
   * requests with the same readings each get their own statement, so the database decides
   * which one stored a reading and the others see it as a duplicate.
   */
  private async storeNow(payload: IngestReadingsPayload): Promise<WriteOutcome> {
    const outcome = await this.writer.writeNow(this.rowsOf(payload));
    await this.scheduleEvaluation(payload, false);
    return outcome;
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

  private async scheduleEvaluation(payload: IngestReadingsPayload, tolerateFailure: boolean): Promise<void> {
    const scope = { orgId: payload.orgId, projectId: payload.projectId };
    await this.evaluations.schedule(scope, [payload.deviceId]).catch((err) => {
      if (!tolerateFailure) throw err;
      this.logger.warn(`evaluation of device ${payload.deviceId} not scheduled: ${(err as Error).message}`);
    });
  }
}
