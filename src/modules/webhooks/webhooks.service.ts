import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { BusinessRuleError, NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { WebhookCircuits } from './circuit/webhook-circuits.service';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { CircuitStatusResponse, CreatedWebhookResponse, WEBHOOK_EVENT_TYPES, WebhookResponse } from './dto/webhook.dto';
import { generateWebhookSecret } from './signing';
import { assertSafeWebhookUrl, UnsafeUrlError } from './url-guard';
import { WebhookRow, WebhooksRepository } from './webhooks.repository';

export const toWebhookResponse = (w: WebhookRow): WebhookResponse => ({
  id: Number(w.id),
  project_id: Number(w.project_id),
  url: w.url,
  event_types: w.event_types,
  enabled: w.enabled,
  disabled_reason: w.disabled_reason,
  created_at: new Date(w.created_at).toISOString(),
  updated_at: new Date(w.updated_at).toISOString(),
});

const webhookNotFound = () => new NotFoundError('WEBHOOK.NOT_FOUND', 'webhook not found');

@Injectable()
export class WebhooksService {
  constructor(
    private readonly repo: WebhooksRepository,
    private readonly circuits: WebhookCircuits,
    private readonly deliveries: WebhookDeliveriesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(scope: TenantScope, body: { url: string; secret?: string; event_types?: string[] }): Promise<CreatedWebhookResponse> {
    await this.checkUrl(body.url);
    const secret = body.secret ?? generateWebhookSecret();
    const row = await this.repo.insert(scope, { url: body.url, secret, eventTypes: body.event_types ?? [...WEBHOOK_EVENT_TYPES] });
    return { ...toWebhookResponse(row), secret };
  }

  async list(scope: TenantScope, page: PageRequest): Promise<Page<WebhookResponse>> {
    return Page.of(await this.repo.list(scope, page), page, toWebhookResponse);
  }

  async get(scope: TenantScope, id: number): Promise<WebhookResponse> {
    return toWebhookResponse(await this.require(scope, id));
  }

  async update(
    scope: TenantScope,
    id: number,
    patch: { url?: string; secret?: string; event_types?: string[]; enabled?: boolean },
  ): Promise<WebhookResponse> {
    await this.require(scope, id);
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    const row = await this.repo.update(scope, id, { url: patch.url, secret: patch.secret, eventTypes: patch.event_types, enabled: patch.enabled });
    if (!row) throw webhookNotFound();
    return toWebhookResponse(row);
  }

  setEnabled(scope: TenantScope, id: number, enabled: boolean): Promise<WebhookResponse> {
    return this.update(scope, id, { enabled });
  }

  async delete(scope: TenantScope, id: number): Promise<void> {
    if (!(await this.repo.delete(scope, id))) throw webhookNotFound();
    await this.circuits.reset(id);
  }

  async circuitStatus(scope: TenantScope, id: number): Promise<CircuitStatusResponse> {
    const webhook = await this.require(scope, id);
    const c = await this.circuits.read(id);
    return {
      webhook_id: Number(webhook.id),
      url: webhook.url,
      circuit_breaker: {
        state: c.state,
        failures: c.failures,
        opened_at: c.openedAt?.toISOString() ?? null,
        next_attempt_at: c.nextAttemptAt?.toISOString() ?? null,
      },
    };
  }

  /** Closes the circuit at once, and the webhook's waiting deliveries go now. */
  async resetCircuit(scope: TenantScope, id: number): Promise<CircuitStatusResponse> {
    await this.require(scope, id);
    await this.circuits.reset(id);
    await this.deliveries.releaseWaiting(scope, id);
    return this.circuitStatus(scope, id);
  }

  private async require(scope: TenantScope, id: number): Promise<WebhookRow> {
    const row = await this.repo.get(scope, id);
    if (!row) throw webhookNotFound();
    return row;
  }

  /** Checked at creation and on change, and again before every send (DNS answers change). */
  private async checkUrl(url: string): Promise<void> {
    try {
      await assertSafeWebhookUrl(url, { allowPrivate: this.config.webhooks.allowPrivateTargets });
    } catch (err) {
      if (!(err instanceof UnsafeUrlError)) throw err;
      throw new BusinessRuleError('WEBHOOK.UNSAFE_URL', err.reason, [{ field: 'url', message: err.reason }]);
    }
  }
}
