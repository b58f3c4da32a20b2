import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '../../core/auth/auth.guard';
import { RateLimitedError } from '../../core/errors/app-error';
import { pageRequest, PageQuery } from '../../core/http/pagination';
import { IdPipe } from '../../core/http/validation';
import { Tenant } from '../../core/tenancy/tenant-scope';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { ShutdownSignal } from '../../core/lifecycle/shutdown-signal';
import { DevicesService } from '../devices/devices.service';
import { AlertEventsService } from './alert-events.service';
import { AlertsService } from './alerts.service';
import { AlertListQuery, AlertStreamQuery } from './dto/alert.dto';
import { StreamSlots } from './stream-slots';

const HEARTBEAT_MS = 15_000;

@ApiTags('alerts')
@ApiSecurity('api-key')
@Controller()
export class AlertsController {
  constructor(
    private readonly alerts: AlertsService,
    private readonly events: AlertEventsService,
    private readonly devices: DevicesService,
    private readonly shutdown: ShutdownSignal,
    private readonly slots: StreamSlots,
  ) {}

  @Get('projects/:projectId/alerts')
  list(@Tenant() scope: TenantScope, @Query() q: AlertListQuery) {
    return this.alerts.list(scope, { status: q.status, deviceId: q.device_id, ruleId: q.rule_id }, pageRequest(q));
  }

  @Get('devices/:deviceId/alerts')
  listForDevice(@Tenant() scope: TenantScope, @Param('deviceId', IdPipe) deviceId: number, @Query() q: PageQuery) {
    return this.alerts.listForDevice(scope, deviceId, pageRequest(q));
  }

  /** Server-Sent Events: every alert change of the key's project, from whichever process made it. */
  @Get('alerts/stream')
  async stream(@Tenant() scope: TenantScope, @Query() q: AlertStreamQuery, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    if (q.device_id !== undefined) await this.devices.require(scope, q.device_id);
    const slot = await this.slots.take(req.apiKey!.prefix);
    if (!slot) throw new RateLimitedError('RATE_LIMIT.STREAMS', 'this API key has as many alert streams open as it may (SSE_MAX_STREAMS_PER_KEY)', 5);
    // The client may have gone while the slot was taken: the slot is freed all the same.
    if (req.destroyed) {
      void slot.free();
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(': connected\n\n');
    const end = () => res.end();
    const unsubscribe = await this.events.subscribe(
      scope,
      (event) => {
        if (q.device_id !== undefined && event.alert.device_id !== q.device_id) return;
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.alert)}\n\n`);
      },
      end,
    );
    const heartbeat = setInterval(() => {
      res.write(': heartbeat\n\n');
      void slot.renew().catch(() => undefined);
    }, HEARTBEAT_MS);
    // A graceful shutdown ends the stream (clients reconnect to another process).
    const stopDraining = this.shutdown.onDrain(end);
    req.on('close', () => {
      clearInterval(heartbeat);
      stopDraining();
      void slot.free().catch(() => undefined);
      void unsubscribe();
    });
  }

  @Get('alerts/:alertId')
  get(@Tenant() scope: TenantScope, @Param('alertId', IdPipe) alertId: number) {
    return this.alerts.get(scope, alertId);
  }

  @Post('alerts/:alertId/ack')
  @HttpCode(200)
  ack(@Tenant() scope: TenantScope, @Param('alertId', IdPipe) alertId: number) {
    return this.alerts.acknowledge(scope, alertId);
  }

  @Post('alerts/:alertId/resolve')
  @HttpCode(200)
  resolve(@Tenant() scope: TenantScope, @Param('alertId', IdPipe) alertId: number) {
    return this.alerts.resolve(scope, alertId);
  }
}
