import { Module } from '@nestjs/common';
import { EvaluationScheduler } from './evaluation-scheduler.service';

@Module({
  providers: [EvaluationScheduler],
  exports: [EvaluationScheduler],
})
export class RulesModule {}
