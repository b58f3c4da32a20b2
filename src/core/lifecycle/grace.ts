/** Resolves true once `work` is done, or false once `graceMs` ran out first (the graceful shutdown's limit, SHUTDOWN_GRACE_MS). */
export const withinGrace = (work: Promise<unknown>, graceMs: number): Promise<boolean> =>
  Promise.race([work.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
