/** Whether `work` settled within `graceMs` (it keeps running if not): the graceful shutdown's limit, SHUTDOWN_GRACE_MS. */
export const withinGrace = (work: Promise<unknown>, graceMs: number): Promise<boolean> =>
  Promise.race([work.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
