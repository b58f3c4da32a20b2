import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { pageRequest, PageQuery } from '../../core/http/pagination';
import { IdPipe } from '../../core/http/validation';
import { Tenant } from '../../core/tenancy/tenant-scope';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { CreateWebhookDto, DeliveryListQuery, PatchWebhookDto, RotateSecretDto } from './dto/webhook.dto';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@ApiSecurity('api-key')
@Controller()
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly deliveries: WebhookDeliveriesService,
  ) {}

  @Post('projects/:projectId/webhooks')
  create(@Tenant() scope: TenantScope, @Body() body: CreateWebhookDto) {
    return this.webhooks.create(scope, body);
  }

  @Get('projects/:projectId/webhooks')
  list(@Tenant() scope: TenantScope, @Query() q: PageQuery) {
    return this.webhooks.list(scope, pageRequest(q));
  }

  @Get('webhooks/:webhookId')
  get(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number) {
    return this.webhooks.get(scope, id);
  }

  @Patch('webhooks/:webhookId')
  update(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number, @Body() body: PatchWebhookDto) {
    return this.webhooks.update(scope, id, body);
  }

  @Delete('webhooks/:webhookId')
  @HttpCode(204)
  async delete(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number): Promise<void> {
    await this.webhooks.delete(scope, id);
  }

  @Post('webhooks/:webhookId/disable')
  @HttpCode(200)
  disable(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number) {
    return this.webhooks.setEnabled(scope, id, false);
  }

  @Post('webhooks/:webhookId/enable')
  @HttpCode(200)
  enable(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number) {
    return this.webhooks.setEnabled(scope, id, true);
  }

  @Post('webhooks/:webhookId/rotate-secret')
  @HttpCode(200)
  rotateSecret(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number, @Body() body: RotateSecretDto) {
    return this.webhooks.rotateSecret(scope, id, body);
  }

  @Post('webhooks/:webhookId/test')
  @HttpCode(202)
  sendTest(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number) {
    return this.webhooks.sendTest(scope, id);
  }

  @Get('webhooks/:webhookId/circuit-status')
  circuitStatus(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number) {
    return this.webhooks.circuitStatus(scope, id);
  }

  @Post('webhooks/:webhookId/circuit/reset')
  @HttpCode(200)
  resetCircuit(@Tenant() scope: TenantScope, @Param('webhookId', IdPipe) id: number) {
    return this.webhooks.resetCircuit(scope, id);
  }

  @Get('projects/:projectId/webhook-deliveries')
  listDeliveries(@Tenant() scope: TenantScope, @Query() q: DeliveryListQuery) {
    return this.deliveries.list(scope, q.status, pageRequest(q));
  }

  @Get('webhook-deliveries/:deliveryId')
  getDelivery(@Tenant() scope: TenantScope, @Param('deliveryId', IdPipe) id: number) {
    return this.deliveries.get(scope, id);
  }

  @Post('webhook-deliveries/:deliveryId/retry')
  @HttpCode(202)
  retryDelivery(@Tenant() scope: TenantScope, @Param('deliveryId', IdPipe) id: number) {
    return this.deliveries.retry(scope, id);
  }
}
