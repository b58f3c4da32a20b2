import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** For the OpenAPI document only: the batch is validated by parseEnvelope/parseEvents. */
export class IngestEventDoc {
  @ApiProperty({ description: 'ISO-8601 (no offset means UTC) or Unix seconds', example: '2026-11-24T10:00:00Z' })
  ts: string;

  @ApiProperty({ example: { temperature: 95.0 } })
  data: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Idempotency key; derived from ts and data when absent', maxLength: 200 })
  event_id?: string;
}

export class IngestBodyDoc {
  @ApiProperty({ example: 'sensor-01', maxLength: 200 })
  device_external_id: string;

  @ApiProperty({ type: [IngestEventDoc], maxItems: 5000 })
  events: IngestEventDoc[];
}

export interface RejectedOut {
  index: number;
  field: string;
  error: string;
}

export interface IngestAccepted {
  queued: number;
  device_id: number;
  rejected: RejectedOut[];
}

export interface IngestStored {
  stored: number;
  duplicates: number;
  /** `failed`: Postgres refused the reading; it is kept in failed_readings (docs/ingest.md). */
  results: { event_id: string; status: 'stored' | 'duplicate' | 'failed' }[];
  rejected: RejectedOut[];
}
