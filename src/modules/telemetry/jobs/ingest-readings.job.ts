import { defineJob, QUEUES } from '../../../core/queue/queues';
import { retryForever } from '../../../core/queue/retry-policy';
import { batchWeight, BULK_BATCH_WEIGHT } from '../ingest/batch-weight';

export interface IngestReadingsPayload {
  orgId: number;
  projectId: number;
  deviceId: number;
  /** When the API accepted the batch: the readings' received_at and the device's last_seen_at. */
  receivedAt: string;
  readings: { event_id: string; ts: string; data: Record<string, unknown> }[];
}

/**
 * One accepted batch. Retried without limit (retryForever): a 202 promised these readings,
 * and the insert is idempotent, so a retry after a crash or an outage stores each reading once.
 */
export const ingestReadingsJob = defineJob<IngestReadingsPayload>({
  queue: QUEUES.telemetryIngest,
  name: 'ingest',
  options: { ...retryForever(200), removeOnComplete: true },
});

/** The same job for a large batch, on a queue of its own (docs/ingest.md, "Fairness between projects"). */
export const ingestBulkReadingsJob = defineJob<IngestReadingsPayload>({ ...ingestReadingsJob, queue: QUEUES.telemetryIngestBulk });

/** Which queue a batch goes to: large ones cannot hold the worker slots small ones are taken by. */
export const ingestJobFor = (readings: IngestReadingsPayload['readings']) =>
  batchWeight(readings) > BULK_BATCH_WEIGHT ? ingestBulkReadingsJob : ingestReadingsJob;
