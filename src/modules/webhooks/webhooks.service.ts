import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { BusinessRuleError, ConflictError, NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest } from '../../core/http/pagination';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { WebhookCircuits } from './circuit/webhook-circuits.service';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { Pacer } from './pacing/pacer';
import {
  CircuitStatusResponse,
  CreatedWebhookResponse,
  DeliveryResponse,
  GRACE_SECONDS_DEFAULT,
  RotatedSecretResponse,
  WEBHOOK_EVENT_TYPES,
  WebhookResponse,
} from './dto/webhook.dto';
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
  rate_limit_per_second: w.rate_limit_per_second,
  created_at: new Date(w.created_at).toISOString(),
  updated_at: new Date(w.updated_at).toISOString(),
});

const webhookNotFound = () => new NotFoundError('WEBHOOK.NOT_FOUND', 'webhook not found');

/** Secrets valid at once, the current one included (DESIGN.md). */
export const MAX_VALID_SECRETS = 5;

@Injectable()
export class WebhooksService {
  constructor(
    private readonly repo: WebhooksRepository,
    private readonly circuits: WebhookCircuits,
    private readonly deliveries: WebhookDeliveriesService,
    private readonly pacer: Pacer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(
    scope: TenantScope,
    body: { url: string; secret?: string; event_types?: string[]; rate_limit_per_second?: number | null },
  ): Promise<CreatedWebhookResponse> {
    await this.checkUrl(body.url);
    const secret = body.secret ?? generateWebhookSecret();
    const row = await this.repo.insert(scope, {
      url: body.url,
      secret,
      eventTypes: body.event_types ?? [...WEBHOOK_EVENT_TYPES],
      ratePerSecond: body.rate_limit_per_second ?? null,
    });
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
    patch: { url?: string; secret?: string; event_types?: string[]; enabled?: boolean; rate_limit_per_second?: number | null },
  ): Promise<WebhookResponse> {
    const before = await this.require(scope, id);
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    const row = await this.repo.update(scope, id, {
      url: patch.url,
      secret: patch.secret,
      eventTypes: patch.event_types,
      enabled: patch.enabled,
      ratePerSecond: patch.rate_limit_per_second,
    });
    if (!row) throw webhookNotFound();
    if (row.rate_limit_per_second !== before.rate_limit_per_second) {
      // Turns reserved at the old pace are given up: what waits for them goes now, at the new one.
      await this.pacer.forget(id);
      await this.deliveries.releaseWaiting(scope, id);
    }
    return toWebhookResponse(row);
  }

  /** A new current secret; the replaced ones keep signing until the grace ends (docs/webhooks.md). */
  async rotateSecret(scope: TenantScope, id: number, body: { secret?: string; grace_seconds?: number }): Promise<RotatedSecretResponse> {
    const secret = body.secret ?? generateWebhookSecret();
    const result = await this.repo.rotateSecret(scope, id, secret, body.grace_seconds ?? GRACE_SECONDS_DEFAULT, MAX_VALID_SECRETS);
    if (result.kind === 'not_found') throw webhookNotFound();
    if (result.kind === 'too_many') {
      throw new ConflictError(
        'WEBHOOK.TOO_MANY_SECRETS',
        `${result.valid} secrets of this webhook are valid; a rotation now would make more than ${MAX_VALID_SECRETS}. Wait for the oldest to expire, or rotate with grace_seconds 0`,
        { valid_secrets: result.valid, max_valid_secrets: MAX_VALID_SECRETS },
      );
    }
    return { webhook_id: id, secret, previous_secret_expires_at: result.previousExpiresAt.toISOString() };
  }

  /** A `webhook.test` delivery, sent like any other; event_types does not filter it. */
  async sendTest(scope: TenantScope, id: number): Promise<DeliveryResponse> {
    const webhook = await this.require(scope, id);
    if (!webhook.enabled) throw new ConflictError('WEBHOOK.DISABLED', 'the webhook is disabled; enable it to send a test event');
    return this.deliveries.sendTest(scope, id);
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
