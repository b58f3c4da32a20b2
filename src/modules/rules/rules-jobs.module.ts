import { Module } from '@nestjs/common';
import { DeadlineTimer } from './jobs/deadline-timer.service';
import { EvaluateDeviceProcessor, EvaluateHeavyDeviceProcessor } from './jobs/evaluate-device.processor';
import { RulesModule } from './rules.module';
import { EvaluationMarkSweeper } from './scheduling/evaluation-mark-sweeper.service';
import { RuleSchedulingModule } from './scheduling/rule-scheduling.module';

/** Heavy evaluations' processor: in the worker, or in its low-priority lane (docs/lanes.md). */
@Module({
  imports: [RulesModule, RuleSchedulingModule],
  providers: [EvaluateHeavyDeviceProcessor],
})
export class RulesHeavyJobsModule {}

/** The rule-evaluation processors and the deadline timer, loaded by the worker role only. */
@Module({
  imports: [RulesModule, RuleSchedulingModule, RulesHeavyJobsModule],
  providers: [EvaluateDeviceProcessor, EvaluationMarkSweeper, DeadlineTimer],
})
export class RulesJobsModule {}
