import { Module } from '@nestjs/common';
import { DeadlineTimer } from './jobs/deadline-timer.service';
import { EvaluateDeviceProcessor } from './jobs/evaluate-device.processor';
import { RulesModule } from './rules.module';
import { EvaluationMarkSweeper } from './scheduling/evaluation-mark-sweeper.service';
import { RuleSchedulingModule } from './scheduling/rule-scheduling.module';

/** The rule-evaluation processor and the deadline timer, loaded by the worker role only. */
@Module({
  imports: [RulesModule, RuleSchedulingModule],
  providers: [EvaluateDeviceProcessor, EvaluationMarkSweeper, DeadlineTimer],
})
export class RulesJobsModule {}
