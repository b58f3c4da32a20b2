import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module';
import { DevicesModule } from '../devices/devices.module';
import { TelemetryModule } from '../telemetry/telemetry.module';
import { RuleEvaluationService } from './evaluation/rule-evaluation.service';
import { RulesController } from './rules.controller';
import { RulesRepository } from './rules.repository';
import { RulesService } from './rules.service';
import { RuleSchedulingModule } from './scheduling/rule-scheduling.module';

@Module({
  imports: [DevicesModule, TelemetryModule, AlertsModule, RuleSchedulingModule],
  controllers: [RulesController],
  providers: [RulesRepository, RulesService, RuleEvaluationService],
  exports: [RuleEvaluationService],
})
export class RulesModule {}
