import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../core/auth/access.decorators';
import { ShutdownSignal } from '../../core/lifecycle/shutdown-signal';
import { HealthService } from './health.service';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly shutdown: ShutdownSignal,
  ) {}

  @Get()
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) res: Response) {
    if (this.shutdown.draining) {
      res.status(503);
      return { status: 'shutting_down', checks: {} };
    }
    const [checks, queueDurability] = await Promise.all([this.health.check(), this.health.queueDurability()]);
    const up = Object.values(checks).every((c) => c === 'up');
    res.status(up ? 200 : 503);
    return { status: up ? 'ok' : 'unavailable', checks, queue_durability: queueDurability };
  }
}
