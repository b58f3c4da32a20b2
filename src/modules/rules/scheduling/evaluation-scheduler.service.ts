import { Injectable } from '@nestjs/common';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { RedisService } from '../../../core/redis/redis.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { evaluateDeviceJob } from './evaluate-device.job';

/**
 * Coalesces evaluation requests per device. Each device has a generation counter that the
 * evaluation bumps when it starts (`beginEvaluation`). Callers enqueue with job id
 * `<device>:<generation>`: while a job of the current generation waits, more readings add
 * nothing (Bull ignores a duplicate job id); once it has started, readings that land later
 * read the new generation and get a job of their own. Readings are committed before the
 * generation is read, so every reading is seen by some evaluation that starts after it.
 */
@Injectable()
export class EvaluationScheduler {
  constructor(
    private readonly queue: JobQueue,
    private readonly redis: RedisService,
  ) {}

  async schedule(scope: TenantScope, deviceIds: readonly number[]): Promise<void> {
    if (!deviceIds.length) return;
    const generations = await this.redis.client.mget(...deviceIds.map((id) => this.generationKey(id)));
    await Promise.all(
      deviceIds.map((deviceId, i) =>
        this.queue.enqueue(
          evaluateDeviceJob,
          { projectId: scope.projectId, orgId: scope.orgId, deviceId },
          { jobId: `eval:${deviceId}:${generations[i] ?? '0'}` },
        ),
      ),
    );
  }

  /** Called by the evaluation processor before it reads the device's window. */
  async beginEvaluation(deviceId: number): Promise<void> {
    await this.redis.client.incr(this.generationKey(deviceId));
  }

  private generationKey(deviceId: number): string {
    return this.redis.key('eval-gen', deviceId);
  }
}
