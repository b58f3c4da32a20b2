import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../../core/database/transaction';
import { NotFoundError } from '../../core/errors/app-error';
import { Page, PageRequest, encodeCursor } from '../../core/http/pagination';
import { RedisService } from '../../core/redis/redis.service';
import type { TenantScope } from '../../core/tenancy/tenant-scope';
import { DevicesService } from '../devices/devices.service';
import type { AlertNotification, NotifiedAlert } from '../webhooks/delivery/webhook-body';
import { RecordedDeliveries, WebhookDeliveriesService } from '../webhooks/webhook-deliveries.service';
import { CreateSilenceDto, PatchSilenceDto, SilencePreviewResponse, SilenceResponse } from './dto/silence.dto';
import { ProjectSilences, SilenceDefinition, SilencedPair } from './matching/project-silences';
import { SilenceCache } from './matching/silence-cache';
import { SilenceMetrics } from './silence-metrics';
import { validateSilence, SilenceInput } from './silence-validation';
import type { Silence } from './silence.entity';
import { DueHeld, HeldEvent, SilencesRepository } from './silences.repository';
import { SilenceState, stateAt } from './windows/silence-timing';

const CHANGED_CHANNEL = 'silences:changed';
/** Safety net for a missed invalidation; changes normally reach every process at once. */
const CACHE_TTL_MS = 60_000;
/** How far ahead the cache works out recurring windows (an entry is rebuilt before it runs out). */
const CACHE_HORIZON_MS = 6 * 3_600_000;
/**
 * A held notification is checked again at the latest this long after the last check, even
 * while its silence lasts: a pair can also stop matching when a device loses a tag.
 */
const RECHECK_MAX_MS = 60_000;
const RELEASE_BATCH = 500;

const silenceNotFound = () => new NotFoundError('SILENCE.NOT_FOUND', 'silence not found');
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

const timingOf = (s: Silence) => ({
  startsAt: new Date(s.starts_at).getTime(),
  endsAt: s.ends_at ? new Date(s.ends_at).getTime() : null,
  recurrence: s.recurrence,
});
const definitionOf = (s: Silence): SilenceDefinition => ({ id: Number(s.id), matchers: s.matchers, timing: timingOf(s) });

export const toSilenceResponse = (s: Silence, now = Date.now()): SilenceResponse => ({
  id: Number(s.id),
  project_id: Number(s.project_id),
  matchers: { ...s.matchers },
  starts_at: new Date(s.starts_at).toISOString(),
  ends_at: iso(s.ends_at),
  recurrence: s.recurrence ? { ...s.recurrence } : null,
  comment: s.comment,
  created_by: s.created_by,
  state: stateAt(timingOf(s), now),
  created_at: new Date(s.created_at).toISOString(),
  updated_at: new Date(s.updated_at).toISOString(),
});

/** The fields of an alert the mute check reads: its pair, its severity, its device's tags. */
export interface SilenceableAlert {
  rule_id: number;
  device_id: number;
  severity: string;
  device_tags?: string[] | null;
}

const pairOf = (a: SilenceableAlert): SilencedPair => ({
  ruleId: Number(a.rule_id),
  deviceId: Number(a.device_id),
  severity: a.severity,
  deviceTags: a.device_tags ?? [],
});

/**
 * Silences (maintenance windows): their API, and the mute decision alert changes ask for.
 * How muting and the re-notification at the end work: docs/silences.md.
 */
@Injectable()
export class SilencesService implements OnModuleInit {
  private readonly logger = new Logger('Silences');
  private readonly cache: SilenceCache;

  constructor(
    private readonly repo: SilencesRepository,
    private readonly devices: DevicesService,
    private readonly webhooks: WebhookDeliveriesService,
    private readonly redis: RedisService,
    private readonly ds: DataSource,
    private readonly metrics: SilenceMetrics,
  ) {
    this.cache = new SilenceCache(async (projectId, manager) => {
      const now = Date.now();
      const rows = await this.repo.liveOf(manager, [projectId]);
      return new ProjectSilences(rows.map(definitionOf), now, now + CACHE_HORIZON_MS);
    }, CACHE_TTL_MS);
  }

  async onModuleInit(): Promise<void> {
    // Changes made by any process reach this one's cache through Redis; if the subscription
    // dropped, some may have been missed, so everything is loaded afresh.
    await this.redis.subscribe(CHANGED_CHANNEL, (projectId) => this.cache.drop(Number(projectId)));
    this.redis.onResubscribe(() => this.cache.clear());
  }

  async create(scope: TenantScope, body: CreateSilenceDto): Promise<SilenceResponse> {
    const fields = validateSilence(body as SilenceInput, new Date());
    await this.requireOwned(scope, fields.matchers);
    const row = await this.repo.insert(scope, fields);
    await this.changed(scope);
    return toSilenceResponse(row);
  }

  /**
   * Newest first. The state is computed, not stored, so a state filter reads on until it has a
   * page (SQL narrows the rows first).
   */
  async list(scope: TenantScope, state: SilenceState | undefined, page: PageRequest): Promise<Page<SilenceResponse>> {
    const now = Date.now();
    const hint = state === 'expired' ? 'maybe-expired' : state ? 'live' : null;
    const out: SilenceResponse[] = [];
    let before = page.beforeId;
    const batch = Math.max(page.limit + 1, 100);
    for (;;) {
      const rows = await this.repo.list(scope, before, batch, hint);
      for (const row of rows) {
        const item = toSilenceResponse(row, now);
        if (state && item.state !== state) continue;
        out.push(item);
        if (out.length > page.limit) return new Page(out.slice(0, page.limit), encodeCursor(out[page.limit - 1].id));
      }
      if (rows.length < batch) return new Page(out, null);
      before = Number(rows[rows.length - 1].id);
    }
  }

  async get(scope: TenantScope, id: number): Promise<SilenceResponse> {
    const row = await this.repo.get(scope, id);
    if (!row) throw silenceNotFound();
    return toSilenceResponse(row);
  }

  /** The silence as it would be after the change must pass every check create makes. */
  async update(scope: TenantScope, id: number, patch: PatchSilenceDto): Promise<SilenceResponse> {
    const current = await this.repo.get(scope, id);
    if (!current) throw silenceNotFound();
    const merged: SilenceInput = {
      matchers: patch.matchers ?? current.matchers,
      starts_at: current.starts_at,
      ends_at: patch.ends_at !== undefined ? patch.ends_at : current.ends_at,
      recurrence: patch.recurrence !== undefined ? patch.recurrence : current.recurrence,
      comment: patch.comment !== undefined ? patch.comment : current.comment,
      created_by: current.created_by,
    };
    const fields = validateSilence(merged, new Date());
    if (patch.matchers) await this.requireOwned(scope, fields.matchers);
    const row = await this.repo.update(scope, id, fields);
    if (!row) throw silenceNotFound();
    await this.changed(scope);
    return toSilenceResponse(row);
  }

  /** DELETE: ends the silence now; it is kept, and lists as expired. */
  async end(scope: TenantScope, id: number): Promise<void> {
    if (!(await this.repo.end(scope, id))) throw silenceNotFound();
    await this.changed(scope);
  }

  /**
   * What the silence in `body` would match now, validated as create validates it except that
   * a one-off may leave out its end (matching does not depend on it).
   */
  async preview(scope: TenantScope, body: CreateSilenceDto): Promise<SilencePreviewResponse> {
    const fields = validateSilence(body as SilenceInput, new Date(), { requireEnd: false });
    await this.requireOwned(scope, fields.matchers);
    return this.repo.preview(scope, fields.matchers);
  }

  // ---- the mute seam: what alert changes ask, inside their transaction ----

  /**
   * Ids of the silences muting the alert's pair now. Cached per project: no query per alert.
   * Inside an alert change, pass its transaction (a cache miss then reads through it).
   */
  async silencing(scope: TenantScope, alert: SilenceableAlert, tx: EntityManager | null = null): Promise<number[]> {
    return (await this.cache.get(scope.projectId, tx)).silencing(pairOf(alert), Date.now());
  }

  /** The same for many alerts of the project (lists). */
  async silencer(scope: TenantScope): Promise<(alert: SilenceableAlert) => number[]> {
    const compiled = await this.cache.get(scope.projectId);
    const now = Date.now();
    return (alert) => compiled.silencing(pairOf(alert), now);
  }

  /**
   * Called by an alert change inside its transaction, in place of writing its deliveries:
   * returns the notifications to deliver now. While silenced, nothing; the event is held (an
   * `alert.triggered`), or dropped with the held trigger (an alert that opened and resolved
   * inside). `held` is what the alert row says a silence still owes; it is taken under a row
   * lock, so a release running at the same moment and this change never both send it.
   */
  async deliverableInTx(tx: EntityManager, scope: TenantScope, n: AlertNotification, silencedBy: number[], held: string | null): Promise<AlertNotification[]> {
    const muted = silencedBy.length > 0;
    if (n.type === 'alert.triggered') {
      if (!muted) return [n];
      await this.repo.hold(tx, scope, n.alert.id, 'alert.triggered');
      this.metrics.muted.inc({ event: n.type });
      return [];
    }
    if (n.type !== 'alert.resolved') return muted ? [] : [n];
    const owedTrigger = held === 'alert.triggered' && (await this.repo.take(tx, scope, n.alert.id)) === 'alert.triggered';
    if (muted) {
      this.metrics.muted.inc({ event: n.type });
      // Subscribers heard the trigger: they hear of the resolution when the silence ends.
      if (!owedTrigger) await this.repo.hold(tx, scope, n.alert.id, 'alert.resolved');
      return [];
    }
    // The silence ended a moment ago and its release has not come round yet: send both.
    return owedTrigger ? [{ type: 'alert.triggered', alert: { ...n.alert, status: 'firing', resolved_at: null } }, n] : [n];
  }

  // ---- the release, run by workers ----

  /**
   * Delivers what silences held back once no silence matches the pair any more: an alert
   * still open gets its `alert.triggered`, a resolution whose trigger was sent gets its
   * `alert.resolved`. Each held row is deleted in the transaction that writes its deliveries,
   * so it is sent once whatever the number of workers; silences are read afresh from the
   * database here, not from the cache. Returns how many held rows were looked at.
   */
  async releaseDue(): Promise<number> {
    const recorded: RecordedDeliveries[] = [];
    const released: HeldEvent[] = [];
    const seen = await inTransaction(this.ds, async (tx) => {
      const due = await this.repo.lockDue(tx, RELEASE_BATCH);
      if (!due.length) return 0;
      const now = Date.now();
      const projects = [...new Set(due.map((d) => Number(d.project_id)))];
      const rows = await this.repo.liveOf(tx, projects);
      const compiled = new Map(projects.map((p) => [p, new ProjectSilences(rows.filter((r) => Number(r.project_id) === p).map(definitionOf), now, now + RECHECK_MAX_MS)]));
      const still: { alertId: number; at: Date }[] = [];
      const gone: DueHeld[] = [];
      for (const h of due) {
        const silences = compiled.get(Number(h.project_id))!;
        const pair = pairOf(h);
        if (silences.silencing(pair, now).length) still.push({ alertId: Number(h.alert_id), at: new Date(silences.mutedUntil(pair, now)) });
        else gone.push(h);
      }
      await this.repo.reschedule(tx, still);
      await this.repo.release(tx, gone.map((h) => Number(h.alert_id)));
      // A trigger held for an alert that has resolved since owes nothing (it opened and closed unseen).
      const owed = gone.filter((h) => !(h.event === 'alert.triggered' && h.status === 'resolved'));
      const scopeOf = (h: DueHeld) => ({ orgId: Number(h.org_id), projectId: Number(h.project_id) });
      recorded.push(...(await this.webhooks.recordInTx(tx, owed.map((h) => ({ scope: scopeOf(h), n: { type: h.event, alert: notifiedAlert(h) } })))));
      released.push(...owed.map((h) => h.event));
      return due.length;
    });
    for (const event of released) this.metrics.renotified.inc({ event });
    if (recorded.length) await this.webhooks.dispatch(recorded);
    return seen;
  }

  /** Keeps releasing while full batches come back. */
  async releaseAllDue(): Promise<number> {
    let total = 0;
    for (let n = RELEASE_BATCH; n === RELEASE_BATCH; total += n) n = await this.releaseDue();
    return total;
  }

  private async requireOwned(scope: TenantScope, m: { rule_ids?: number[]; device_ids?: number[] }): Promise<void> {
    if (m.rule_ids?.length && (await this.repo.countRules(scope, m.rule_ids)) !== m.rule_ids.length) {
      throw new NotFoundError('RULE.NOT_FOUND', 'rule not found');
    }
    if (m.device_ids?.length) await this.devices.requireAll(scope, m.device_ids);
  }

  /** Every process drops the project's cached silences (this one at once). */
  private async changed(scope: TenantScope): Promise<void> {
    this.cache.drop(scope.projectId);
    await this.redis.publish(CHANGED_CHANNEL, String(scope.projectId)).catch((err) => this.logger.warn(`could not announce a silence change: ${err.message}`));
  }
}

const notifiedAlert = (h: DueHeld): NotifiedAlert => ({
  id: Number(h.alert_id),
  project_id: Number(h.project_id),
  device_id: Number(h.device_id),
  rule_id: Number(h.rule_id),
  status: h.status,
  severity: h.severity,
  triggered_at: new Date(h.triggered_at).toISOString(),
  resolved_at: iso(h.resolved_at),
  details: h.details,
});
