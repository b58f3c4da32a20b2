import { defineJob, QUEUES } from '../../../core/queue/queues';
import { retryForever } from '../../../core/queue/retry-policy';

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
