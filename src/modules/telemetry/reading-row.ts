/**
 * One reading as the writer stores it: what the reading writer, the rollup plan and the
 * failed-readings record share, kept apart from the repository so analytics need not import it.
 */
export interface ReadingRow {
  projectId: number;
  deviceId: number;
  eventId: string;
  ts: string;
  receivedAt: string;
  data: Record<string, unknown>;
}
