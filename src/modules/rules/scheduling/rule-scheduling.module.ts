import { Module } from '@nestjs/common';
import { EvaluationMarksRepository } from './evaluation-marks.repository';
import { EvaluationMarks } from './evaluation-marks.service';
import { ArrivalsService } from './arrivals.service';
import { DeadlinesRepository } from './deadlines.repository';
import { EvaluationScheduler } from './evaluation-scheduler.service';

/**
 * The entry to rule evaluation, kept apart from the rules module so telemetry can ask for
 * evaluations (and report arrivals to no-data rules) without depending on rules (which reads
 * telemetry's windows).
 */
@Module({
  providers: [EvaluationScheduler, EvaluationMarksRepository, EvaluationMarks, DeadlinesRepository, ArrivalsService],
  // DeadlinesRepository: for the rules module and its jobs (one feature), not for others.
  exports: [EvaluationScheduler, EvaluationMarks, ArrivalsService, DeadlinesRepository],
})
export class RuleSchedulingModule {}
