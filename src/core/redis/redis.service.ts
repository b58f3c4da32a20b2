import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../../config/app-config';

type Handler = (message: string) => void;

/**
 * The platform's Redis connections (besides Bull's own): one for commands and one for
 * subscriptions. Every key and channel goes through `key()`, which applies REDIS_PREFIX.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly reconnectListeners = new Set<() => void>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    // Auto-pipelining sends the commands of concurrent jobs (circuit checks, say) in one write.
    this.client = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false, enableAutoPipelining: true });
    this.client.on('error', (err) => this.logger.warn(`redis: ${err.message}`));
  }

  key(...parts: (string | number)[]): string {
    return [this.config.redisPrefix, ...parts].join(':');
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.key(channel), message);
  }

  /** Subscribes to a (prefixed) channel; returns the function that unsubscribes. */
  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    const sub = this.ensureSubscriber();
    const full = this.key(channel);
    let set = this.handlers.get(full);
    if (!set) {
      set = new Set();
      this.handlers.set(full, set);
      await sub.subscribe(full);
    }
    set.add(handler);
    return async () => {
      const current = this.handlers.get(full);
      if (!current) return;
      current.delete(handler);
      if (current.size === 0) {
        this.handlers.delete(full);
        await sub.unsubscribe(full).catch(() => undefined);
      }
    };
  }

  /** Called after the subscriber reconnects: messages sent meanwhile may have been missed. */
  onResubscribe(listener: () => void): void {
    this.reconnectListeners.add(listener);
  }

  private ensureSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    let connectedBefore = false;
    sub.on('error', (err) => this.logger.warn(`redis subscriber: ${err.message}`));
    sub.on('ready', () => {
      if (connectedBefore) for (const listener of this.reconnectListeners) listener();
      connectedBefore = true;
    });
    sub.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
    this.subscriber = sub;
    return sub;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.client.quit().catch(() => undefined), this.subscriber?.quit().catch(() => undefined)]);
  }
}
