import { Injectable } from '@nestjs/common';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { RedisService } from '../../../core/redis/redis.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { evaluateDeviceJob } from './evaluate-device.job';

/** An evaluation that took longer than this makes its device's next ones yield (see below). */
export const HEAVY_EVALUATION_MS = 50;
/** The longest a heavy device's next evaluation is held back. */
const MAX_YIELD_MS = 2_000;
/** How long a device's measured cost counts: a device that went quiet starts afresh. */
const COST_TTL_MS = 60_000;

/**
 * Fairness between projects: how a device's next evaluation is queued, given how long its last
 * one took. Cheap evaluations (most: small windows) go first (priority 1) and at once. A heavy
 * one (large windows, many rules) queues behind every cheap one (priority 2), and waits twice
 * its own cost first, so that more readings coalesce into it and its device holds a worker slot
 * at most about a third of the time. One project's expensive rules thus slow its own alerts,
 * not other projects' (docs/hostile-input.md, "Fair evaluation").
 */
export function queueingFor(lastCostMs: number | null): { priority: number; delay: number } {
  if (lastCostMs === null || lastCostMs < HEAVY_EVALUATION_MS) return { priority: 1, delay: 0 };
  return { priority: 2, delay: Math.min(MAX_YIELD_MS, Math.round(2 * lastCostMs)) };
}

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
    const keys = deviceIds.flatMap((id) => [this.generationKey(id), this.costKey(id)]);
    const values = await this.redis.client.mget(...keys);
    await Promise.all(
      deviceIds.map((deviceId, i) => {
        const [generation, cost] = [values[2 * i], values[2 * i + 1]];
        return this.queue.enqueue(
          evaluateDeviceJob,
          { projectId: scope.projectId, orgId: scope.orgId, deviceId },
          { jobId: `eval:${deviceId}:${generation ?? '0'}`, ...queueingFor(cost === null ? null : Number(cost)) },
        );
      }),
    );
  }

  /** Called by the evaluation processor when an evaluation is done: how long it took. */
  async finishEvaluation(deviceId: number, costMs: number): Promise<void> {
    await this.redis.client.set(this.costKey(deviceId), Math.round(costMs), 'PX', COST_TTL_MS);
  }

  private costKey(deviceId: number): string {
    return this.redis.key('eval-cost', deviceId);
  }

  /** Called by the evaluation processor before it reads the device's window. */
  async beginEvaluation(deviceId: number): Promise<void> {
    await this.redis.client.incr(this.generationKey(deviceId));
  }

  private generationKey(deviceId: number): string {
    return this.redis.key('eval-gen', deviceId);
  }
}
