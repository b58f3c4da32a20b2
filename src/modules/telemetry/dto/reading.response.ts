import type { StoredReading } from '../readings.repository';

export interface ReadingResponse {
  id: number;
  device_id: number;
  event_id: string;
  ts: string;
  received_at: string;
  payload: Record<string, unknown>;
}

export const toReadingResponse = (r: StoredReading): ReadingResponse => ({
  id: Number(r.id),
  device_id: Number(r.device_id),
  event_id: r.event_id,
  ts: r.ts.toISOString(),
  received_at: r.received_at.toISOString(),
  payload: r.payload,
});
