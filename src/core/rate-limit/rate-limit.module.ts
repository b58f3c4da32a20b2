import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { RedisService } from '../redis/redis.service';
import { THROTTLERS } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, RedisService],
      useFactory: (config: AppConfig, redis: RedisService) => {
        // An api lane's requests were counted by the api that forwarded them (docs/lanes.md); 0 is unlimited.
        const limit = (n: number) => (config.lanes.self === 'api' ? 0 : n);
        return {
          throttlers: [
            { name: THROTTLERS.telemetryPerMinute, ttl: MINUTE, limit: limit(config.rateLimits.telemetryPerMinute) },
            { name: THROTTLERS.telemetryPerHour, ttl: HOUR, limit: limit(config.rateLimits.telemetryPerHour) },
            { name: THROTTLERS.projectPerMinute, ttl: MINUTE, limit: limit(config.rateLimits.projectPerMinute) },
            { name: THROTTLERS.adminPerMinute, ttl: MINUTE, limit: limit(config.rateLimits.adminPerMinute) },
          ],
          storage: new RedisThrottlerStorage(redis),
        };
      },
    }),
  ],
  exports: [ThrottlerModule],
})
export class RateLimitModule {}
