import Redis from 'ioredis';

const QUEUES = ['telemetry-ingest', 'telemetry-ingest-bulk', 'rule-evaluation'];

/**
 * Waits until ingestion and evaluation have nothing waiting, running or delayed, twice in a
 * row: everything posted before the call has then been stored and evaluated.
 */
export async function waitForQueuesIdle(timeoutMs = 30_000): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL!);
  const prefix = process.env.REDIS_PREFIX!;
  try {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (Date.now() < deadline) {
      const counts = await Promise.all(
        QUEUES.flatMap((q) => [redis.llen(`${prefix}:${q}:wait`), redis.llen(`${prefix}:${q}:active`), redis.zcard(`${prefix}:${q}:delayed`)]),
      );
      quiet = counts.every((n) => n === 0) ? quiet + 1 : 0;
      if (quiet >= 3) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('queues did not drain in time');
  } finally {
    redis.disconnect();
  }
}
