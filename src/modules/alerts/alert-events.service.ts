import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { RedisService } from '../../core/redis/redis.service';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import type { AlertResponse } from './dto/alert.dto';

export type AlertEventType = 'alert.triggered' | 'alert.acknowledged' | 'alert.resolved';

export interface AlertEvent {
  type: AlertEventType;
  alert: AlertResponse;
}

const channel = (projectId: number) => `alerts:${projectId}`;

/**
 * Alert changes travel over Redis pub/sub, so a stream served by any api process sees the
 * changes made by every worker and api process.
 */
@Injectable()
export class AlertEventsService implements BeforeApplicationShutdown {
  private readonly closers = new Set<() => void>();

  constructor(private readonly redis: RedisService) {}

  async publish(events: readonly AlertEvent[]): Promise<void> {
    await Promise.all(events.map((e) => this.redis.publish(channel(e.alert.project_id), JSON.stringify(e))));
  }

  /** Listens to a project's alert events until the returned function is called. */
  async subscribe(scope: TenantScope, onEvent: (event: AlertEvent) => void, onShutdown: () => void): Promise<() => Promise<void>> {
    const unsubscribe = await this.redis.subscribe(channel(scope.projectId), (raw) => onEvent(JSON.parse(raw) as AlertEvent));
    this.closers.add(onShutdown);
    return async () => {
      this.closers.delete(onShutdown);
      await unsubscribe();
    };
  }

  /** Open streams would keep the HTTP server from closing: end them first. */
  beforeApplicationShutdown(): void {
    for (const close of [...this.closers]) close();
  }
}
