import { Injectable } from '@nestjs/common';
import type { TenantScope } from '../../../core/tenancy/tenant-scope';
import { EvaluationMark, EvaluationMarksRepository } from './evaluation-marks.repository';
import { EvaluationScheduler } from './evaluation-scheduler.service';

/** Per sweep: marks read and queued. */
const SWEEP_BATCH = 1000;

/**
 * The durable fallback of EvaluationScheduler: when Redis cannot take a device's evaluation,
 * a mark in Postgres (written after the readings, so it exists whenever they do) remembers it,
 * and `sweep` (run by the worker, EvaluationMarkSweeper) queues it once Redis answers. So a
 * device whose readings landed is evaluated however long Redis was away (docs/durability.md).
 */
@Injectable()
export class EvaluationMarks {
  constructor(
    private readonly repo: EvaluationMarksRepository,
    private readonly scheduler: EvaluationScheduler,
  ) {}

  mark(scope: TenantScope, deviceIds: readonly number[]): Promise<void> {
    return this.repo.mark(scope, deviceIds);
  }

  /** Queues the evaluation of marked devices, then removes their marks; returns how many. */
  async sweep(): Promise<number> {
    const marks = await this.repo.oldest(SWEEP_BATCH);
    const byProject = new Map<number, EvaluationMark[]>();
    for (const m of marks) byProject.set(m.project_id, [...(byProject.get(m.project_id) ?? []), m]);
    for (const group of byProject.values()) {
      const scope = { orgId: group[0].org_id, projectId: group[0].project_id };
      await this.scheduler.schedule(scope, group.map((m) => m.device_id));
    }
    // Only once their jobs are in Redis: a failure above leaves every mark for the next sweep.
    await this.repo.clear(marks);
    return marks.length;
  }
}
