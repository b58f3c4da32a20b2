import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
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
export const ingestReadingsJob = defineJob<IngestJobData>({
  queue: QUEUES.telemetryIngest,
  name: 'ingest',
  options: { ...retryForever(200), removeOnComplete: true },
});

/** The same job for a large batch, on a queue of its own (docs/ingest.md, "Fairness between projects"). */
export const ingestBulkReadingsJob = defineJob<IngestJobData>({ ...ingestReadingsJob, queue: QUEUES.telemetryIngestBulk });

/** Which queue a batch goes to: large ones cannot hold the worker slots small ones are taken by. */
const ingestJobFor = (readings: IngestReadingsPayload['readings']) =>
  batchWeight(readings) > BULK_BATCH_WEIGHT ? ingestBulkReadingsJob : ingestReadingsJob;

/**
 * A job's data as it sits in Redis: a bulk batch's readings deflated (a 5,000-event batch of
 * distinct metrics, 460 KB of JSON, is 88 KB; a 10,000-key event 118 → 37 KB), the rest as is
 * (log-context reads projectId). Redis runs every queue's commands one at a time, so a large
 * job's bytes, copied in and out by Bull's scripts, held up everyone else's queue operations
 * for 1–6 ms each; a backlog of bulk batches held in Redis (Postgres away) takes a fifth of the
 * memory. docs/ingest.md, "Fairness between projects".
 */
export type IngestJobData = IngestReadingsPayload | (Omit<IngestReadingsPayload, 'readings'> & { deflated: string });

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/** The job and its data for a batch: a bulk one deflated (off the event loop, in libuv's pool). */
export async function ingestJob(payload: IngestReadingsPayload): Promise<{ job: typeof ingestReadingsJob; data: IngestJobData }> {
  const job = ingestJobFor(payload.readings);
  if (job !== ingestBulkReadingsJob) return { job, data: payload };
  const { readings, ...rest } = payload;
  const deflated = (await deflate(JSON.stringify(readings), { level: 1 })).toString('base64');
  return { job, data: { ...rest, deflated } };
}

/** The batch a job carries, in either form (a job queued before deflating existed has its readings as they are). */
export async function ingestPayloadOf(data: IngestJobData): Promise<IngestReadingsPayload> {
  if (!('deflated' in data)) return data;
  const { deflated, ...rest } = data;
  return { ...rest, readings: JSON.parse((await inflate(Buffer.from(deflated, 'base64'))).toString('utf8')) };
}
