import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { withJobContext } from '../../../core/logging/log-context';
import { QUEUES } from '../../../core/queue/queues';
import { TelemetryIngestService } from '../telemetry-ingest.service';
import { IngestReadingsPayload, ingestReadingsJob } from './ingest-readings.job';

/** Many jobs at once, so the reading writer can coalesce them into large inserts. */
const CONCURRENCY = 16;

@Processor(QUEUES.telemetryIngest)
export class IngestReadingsProcessor {
  constructor(private readonly ingest: TelemetryIngestService) {}

  @Process({ name: ingestReadingsJob.name, concurrency: CONCURRENCY })
  handle(job: Job<IngestReadingsPayload>): Promise<void> {
    return withJobContext(job, () => this.ingest.store(job.data));
  }
}
