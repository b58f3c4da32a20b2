import { Injectable } from '@nestjs/common';
import { JobQueue } from '../../../core/queue/job-queue.service';
import { RedisService } from '../../../core/redis/redis.service';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { evaluateDeviceJob, evaluateHeavyDeviceJob } from './evaluate-device.job';
import { COST_TTL_MS, EvaluationCosts, queueingFor } from './fair-queueing';

/** How long a device's evaluation generation outlives its last evaluation. */
export const GENERATION_TTL_MS = 7 * 24 * 3600_000;

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
  private readonly costs = new EvaluationCosts();

  constructor(
    private readonly queue: JobQueue,
    private readonly redis: RedisService,
  ) {}

  async schedule(scope: TenantScope, deviceIds: readonly number[]): Promise<void> {
    if (!deviceIds.length) return;
    const keys = deviceIds.flatMap((id) => [this.generationKey(id), this.costKey(id)]);
    const [[, values], [, heavy]] = (await this.redis.client
      .multi()
      .mget(...keys)
      .zcount(this.heavyKey(scope.projectId), Date.now(), '+inf')
      .exec()) as [[unknown, (string | null)[]], [unknown, number]];
    await Promise.all(
      deviceIds.map((deviceId, i) => {
        const [generation, cost] = [values[2 * i], values[2 * i + 1]];
        const queueing = queueingFor(cost === null ? null : Number(cost), heavy);
        return this.queue.enqueue(
          queueing.heavy ? evaluateHeavyDeviceJob : evaluateDeviceJob,
          { projectId: scope.projectId, orgId: scope.orgId, deviceId },
          { jobId: `eval:${deviceId}:${generation ?? '0'}`, delay: queueing.delay },
        );
      }),
    );
  }

  /**
   * Called by the evaluation processor when an evaluation is done: its work and how long it
   * took. A heavy one (see EvaluationCosts) leaves its time for the device's next scheduling
   * to read.
   */
  async finishEvaluation(scope: TenantScope, deviceId: number, done: { work: number; costMs: number; ranAsHeavy: boolean }): Promise<void> {
    const { work, costMs } = done;
    const now = Date.now();
    const heavyKey = this.heavyKey(scope.projectId);
    const tx = this.redis.client.multi();
    if (this.costs.observe(scope.projectId, work, now, done.ranAsHeavy)) {
      tx.set(this.costKey(deviceId), Math.round(costMs), 'PX', COST_TTL_MS).zadd(heavyKey, now + COST_TTL_MS, deviceId).pexpire(heavyKey, COST_TTL_MS);
    } else tx.del(this.costKey(deviceId)).zrem(heavyKey, deviceId);
    await tx.zremrangebyscore(heavyKey, '-inf', now).exec();
  }

  /** The device's last evaluation cost, while it was heavy. */
  private costKey(deviceId: number): string {
    return this.redis.key('eval-cost', deviceId);
  }

  /** The project's devices whose last evaluation was heavy, scored by when that lapses. */
  private heavyKey(projectId: number): string {
    return this.redis.key('eval-heavy', projectId);
  }

  /**
   * Called by the evaluation processor before it reads the device's window. The generation
   * lapses GENERATION_TTL_MS after the device's last evaluation, so devices that went quiet
   * (or were deleted) leave nothing behind in Redis. Lapsing is safe: a device's next reading
   * then reads no generation and queues job `eval:<device>:0`, which is either new or one that
   * has not started yet (a started job refreshed the lapse when it began, and none runs for days).
   * One round trip, not a transaction: a lapse lost to a dropped connection is set by the next.
   */
  async beginEvaluation(deviceId: number): Promise<void> {
    const key = this.generationKey(deviceId);
    await this.redis.client.pipeline().incr(key).pexpire(key, GENERATION_TTL_MS).exec();
  }

  private generationKey(deviceId: number): string {
    return this.redis.key('eval-gen', deviceId);
  }
}
