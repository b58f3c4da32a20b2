import Redis from 'ioredis';

/**
 * Deletes every key under `prefix:` (a test run's or a benchmark's own keys, queues included),
 * with SCAN so that a large keyspace never blocks Redis for others. Used by the test suite's
 * teardown and the benchmarks' cleanup; the platform itself never deletes by prefix.
 */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
