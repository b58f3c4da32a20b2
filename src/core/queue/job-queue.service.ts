import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Job, JobOptions, Queue } from 'bull';
import { JobDefinition, QueueName, QUEUES } from './queues';

/** The one way work enters a queue. */
@Injectable()
export class JobQueue {
  private readonly queues: Map<QueueName, Queue>;

  constructor(
    @InjectQueue(QUEUES.telemetryIngest) telemetryIngest: Queue,
    @InjectQueue(QUEUES.telemetryIngestBulk) telemetryIngestBulk: Queue,
    @InjectQueue(QUEUES.ruleEvaluation) ruleEvaluation: Queue,
    @InjectQueue(QUEUES.ruleEvaluationHeavy) ruleEvaluationHeavy: Queue,
    @InjectQueue(QUEUES.webhookDelivery) webhookDelivery: Queue,
    @InjectQueue(QUEUES.maintenance) maintenance: Queue,
    @InjectQueue(QUEUES.rollupCatchUp) rollupCatchUp: Queue,
  ) {
    this.queues = new Map(
      [telemetryIngest, telemetryIngestBulk, ruleEvaluation, ruleEvaluationHeavy, webhookDelivery, maintenance, rollupCatchUp].map((q) => [q.name as QueueName, q]),
    );
  }

  enqueue<P>(job: JobDefinition<P>, payload: P, options: JobOptions = {}): Promise<Job<P>> {
    return this.queue(job.queue).add(job.name, payload, { ...job.options, ...options });
  }

  queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`queue ${name} is not registered`);
    return q;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }
}
