import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { withJobContext } from '../../../core/logging/log-context';
import { QUEUES } from '../../../core/queue/queues';
import { TelemetryIngestService } from '../telemetry-ingest.service';
import { IngestJobData, ingestPayloadOf, ingestReadingsJob } from './ingest-readings.job';

/**
 * Many jobs at once, so the reading writer can coalesce them into large inserts and always has
 * the next batch gathered while one is being written; chosen with `npm run bench:ingest`
 * (docs/benchmarks.md, "Ingest job concurrency").
 */
const CONCURRENCY = 64;

/**
 * Large batches: a few fill a flush (at most 60,000 weight), so three flushes' worth of the
 * largest is enough to keep the writer busy, and bounds what they hold in memory.
 */
const BULK_CONCURRENCY = 12;

/** Batches up to BULK_BATCH_WEIGHT (`telemetry-ingest`): their slots are never held by large ones waiting for the writer. */
@Processor(QUEUES.telemetryIngest)
export class IngestReadingsProcessor {
  constructor(private readonly ingest: TelemetryIngestService) {}

  @Process({ name: ingestReadingsJob.name, concurrency: CONCURRENCY })
  handle(job: Job<IngestJobData>): Promise<void> {
    return withJobContext(job, async () => this.ingest.store(await ingestPayloadOf(job.data)));
  }
}

/** Large batches (`telemetry-ingest-bulk`, see ingestJob). */
@Processor(QUEUES.telemetryIngestBulk)
export class IngestBulkReadingsProcessor {
  constructor(private readonly ingest: TelemetryIngestService) {}

  @Process({ name: ingestReadingsJob.name, concurrency: BULK_CONCURRENCY })
  handle(job: Job<IngestJobData>): Promise<void> {
    return withJobContext(job, async () => this.ingest.store(await ingestPayloadOf(job.data)));
  }
}
