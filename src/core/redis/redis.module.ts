import { Global, Module } from '@nestjs/common';
import { QueueDurability } from './queue-durability.service';
import { RedisService } from './redis.service';

@Global()
@Module({ providers: [RedisService, QueueDurability], exports: [RedisService, QueueDurability] })
export class RedisModule {}
