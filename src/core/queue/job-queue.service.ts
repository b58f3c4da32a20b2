import { getQueueToken } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Job, JobOptions, Queue } from 'bull';
import { JobDefinition, QueueName, QUEUES } from './queues';

/** The one way work enters a queue. */
@Injectable()
export class JobQueue {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(moduleRef: ModuleRef) {
    for (const name of Object.values(QUEUES)) {
      this.queues.set(name, moduleRef.get<Queue>(getQueueToken(name), { strict: false }));
    }
  }

  enqueue<P>(job: JobDefinition<P>, payload: P, options: JobOptions = {}): Promise<Job<P>> {
    return this.queue(job.queue).add(job.name, payload, {
      ...job.options,
      ...(job.jobId ? { jobId: job.jobId(payload) } : {}),
      ...options,
    });
  }

  queue(name: QueueName): Queue {
    return this.queues.get(name)!;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }
}
