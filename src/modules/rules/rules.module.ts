import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module';
import { DevicesModule } from '../devices/devices.module';
import { RuleEvaluationService } from './evaluation/rule-evaluation.service';
import { WindowCountsRepository } from './evaluation/window-counts.repository';
import { RulesController } from './rules.controller';
import { RulesRepository } from './rules.repository';
import { RulesService } from './rules.service';
import { RuleSchedulingModule } from './scheduling/rule-scheduling.module';

@Module({
  imports: [DevicesModule, AlertsModule, RuleSchedulingModule],
  controllers: [RulesController],
  providers: [RulesRepository, RulesService, RuleEvaluationService, WindowCountsRepository],
  exports: [RuleEvaluationService],
})
export class RulesModule {}
