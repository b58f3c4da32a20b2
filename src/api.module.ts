import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AuthGuard } from './core/auth/auth.guard';
import { AllExceptionsFilter } from './core/errors/all-exceptions.filter';
import { BodyReader } from './core/http/body-reader';
import { PageInterceptor } from './core/http/pagination';
import { AppValidationPipe } from './core/http/validation';
import { MetricsController } from './core/metrics/metrics.controller';
import { RateLimitGuard } from './core/rate-limit/rate-limit.guard';
import { RateLimitModule } from './core/rate-limit/rate-limit.module';
import { AlertsModule } from './modules/alerts/alerts.module';
import { AnalyticsModule } from './modules/analytics/analytics.module';
import { ApiKeysModule } from './modules/api-keys/api-keys.module';
import { ConsoleModule } from './modules/console/console.module';
import { DevicesModule } from './modules/devices/devices.module';
import { HealthModule } from './modules/health/health.module';
import { OrgsModule } from './modules/orgs/orgs.module';
import { ProjectsModule } from './modules/projects/projects.module';
import { RulesModule } from './modules/rules/rules.module';
import { SilencesModule } from './modules/silences/silences.module';
import { TelemetryModule } from './modules/telemetry/telemetry.module';
import { WebhooksModule } from './modules/webhooks/webhooks.module';

/** The HTTP side: controllers of every feature, and the request pipeline around them. */
@Module({
  imports: [RateLimitModule, HealthModule, OrgsModule, ProjectsModule, ApiKeysModule, DevicesModule, TelemetryModule, AnalyticsModule, RulesModule, AlertsModule, WebhooksModule, SilencesModule, ConsoleModule],
  controllers: [MetricsController],
  providers: [
    // Guards run in this order: authenticate (and scope), then count against the rate limit.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_PIPE, useClass: AppValidationPipe },
    // The body is read only after the guards: a request they refuse costs no more than its headers.
    { provide: APP_INTERCEPTOR, useClass: BodyReader },
    { provide: APP_INTERCEPTOR, useClass: PageInterceptor },
  ],
})
export class ApiModule {}
