import { Module } from '@nestjs/common';
import { EvaluationMarksRepository } from './evaluation-marks.repository';
import { EvaluationMarks } from './evaluation-marks.service';
import { EvaluationScheduler } from './evaluation-scheduler.service';

/**
 * The entry to rule evaluation, kept apart from the rules module so telemetry can ask for
 * evaluations without depending on rules (which reads telemetry's windows).
 */
@Module({
  providers: [EvaluationScheduler, EvaluationMarksRepository, EvaluationMarks],
  exports: [EvaluationScheduler, EvaluationMarks],
})
export class RuleSchedulingModule {}
