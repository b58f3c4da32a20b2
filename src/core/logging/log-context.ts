import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line of a request or a job carries, without passing it around. */
export interface LogContext {
  request_id?: string;
  project_id?: number;
  job_id?: string;
  queue?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

export function runWithLogContext<T>(context: LogContext, work: () => T): T {
  return storage.run(context, work);
}

/** Adds to the current context (the request's, once its key names the project). */
export function addToLogContext(fields: LogContext): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

/** Runs a queue job with its id, queue and project in every log line it writes. */
export function withJobContext<T>(job: { id?: string | number; queue?: { name: string }; data?: unknown }, work: () => Promise<T>): Promise<T> {
  const data = job.data as { projectId?: number } | undefined;
  return storage.run({ job_id: String(job.id), queue: job.queue?.name, project_id: data?.projectId }, work);
}
