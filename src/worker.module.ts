import { Module } from '@nestjs/common';

/** The queue side: every processor. Feature modules add their processor modules here. */
@Module({ imports: [] })
export class WorkerModule {}
