import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * A Lua script run by its SHA (EVALSHA), its text sent only when Redis does not have it yet
 * (first use, or after a restart or SCRIPT FLUSH).
 */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly script: string) {
    this.sha = createHash('sha1').update(script).digest('hex');
  }

  run(client: Redis, keys: string[], ...args: (string | number)[]): Promise<unknown> {
    return client.evalsha(this.sha, keys.length, ...keys, ...args).catch((err: Error) => {
      if (!err.message.includes('NOSCRIPT')) throw err;
      return client.eval(this.script, keys.length, ...keys, ...args);
    });
  }
}
