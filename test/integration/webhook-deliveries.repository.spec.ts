import { DataSource } from 'typeorm';
import { inTransaction } from '../../src/core/database/transaction';
import { AttemptResult, WebhookDeliveriesRepository } from '../../src/modules/webhooks/webhook-deliveries.repository';
import { makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

const LEASE_MS = 60_000;

describe('WebhookDeliveriesRepository (real Postgres)', () => {
  let ds: DataSource;
  let deliveries: WebhookDeliveriesRepository;
  let t: RepoTenant;
  let webhookId: number;

  beforeAll(async () => {
    ds = await openDataSource();
    deliveries = new WebhookDeliveriesRepository(ds);
    t = await makeTenant(ds, 2);
    const [w] = await ds.query(
      `INSERT INTO webhooks (project_id, url, secret, event_types) VALUES ($1, 'http://127.0.0.1:9/hook', 'whsec_current', $2) RETURNING id`,
      [t.projectId, ['alert.triggered', 'alert.resolved']],
    );
    webhookId = Number(w.id);
    await ds.query(`INSERT INTO webhook_previous_secrets (webhook_id, secret, expires_at) VALUES ($1, 'whsec_old', now() + interval '1 hour')`, [webhookId]);
  });
  afterAll(() => ds?.destroy());

  async function newDelivery(): Promise<number> {
    const row = await deliveries.insertOne(t, webhookId, { event: 'webhook.test', payload: { hello: 'world' } });
    return row!.id;
  }
  const result = (status: AttemptResult['status'], statusCode: number | null, nextAttemptAt: Date | null = null): AttemptResult => ({
    status,
    statusCode,
    error: status === 'success' ? null : `HTTP ${statusCode}`,
    nextAttemptAt,
    entry: { attempt: 1, at: new Date().toISOString(), status_code: statusCode, error: null, duration_ms: 3 },
  });

  it('writes the outbox rows of an event for the webhooks that take it', async () => {
    const [{ id: alertRuleId }] = await ds.query(
      `INSERT INTO rules (project_id, name, metric, operator, threshold, window_n, required_k, scope, for_seconds)
       VALUES ($1, 'r', 'temp', '>', 1, 1, 1, 'ALL', 0) RETURNING id`,
      [t.projectId],
    );
    const [alert] = await ds.query(`INSERT INTO alerts (project_id, device_id, rule_id, status, severity, details) VALUES ($1, $2, $3, 'firing', 'warning', '{}') RETURNING id`, [
      t.projectId,
      t.devices[0],
      alertRuleId,
    ]);
    const n = (event: string, alertId: number, payload: Record<string, unknown>) => ({ projectId: t.projectId, event, alertId, deviceId: t.devices[0], payload });
    const rows = await inTransaction(ds, (tx) => deliveries.insertForEvents(tx, [n('alert.triggered', Number(alert.id), { a: 1 })]));
    expect(rows).toEqual([{ id: expect.any(Number), webhook_id: webhookId, alert_id: Number(alert.id), event: 'alert.triggered' }]);
    const [stored] = await ds.query(`SELECT payload, status FROM webhook_deliveries WHERE id = $1`, [rows[0].id]);
    expect(stored).toEqual({ payload: { a: 1, device_external_id: 'dev-1' }, status: 'pending' });
    const none = await inTransaction(ds, (tx) => deliveries.insertForEvents(tx, [n('webhook.other', Number(alert.id), {})]));
    expect(none).toEqual([]);

    // Many notifications in one statement: each gets its own rows, in the notifications' order,
    // and one no webhook takes writes none.
    const [second] = await ds.query(`INSERT INTO alerts (project_id, device_id, rule_id, status, severity, details) VALUES ($1, $2, $3, 'firing', 'warning', '{}') RETURNING id`, [
      t.projectId,
      t.devices[1],
      alertRuleId,
    ]);
    const many = await inTransaction(ds, (tx) =>
      deliveries.insertForEvents(tx, [
        { ...n('alert.triggered', Number(second.id), { b: 2 }), deviceId: t.devices[1] },
        n('webhook.other', Number(alert.id), {}),
        n('alert.resolved', Number(alert.id), { c: 3 }),
      ]),
    );
    expect(many.map((r) => [r.alert_id, r.event])).toEqual([
      [Number(second.id), 'alert.triggered'],
      [Number(alert.id), 'alert.resolved'],
    ]);
    expect(many[0].id).toBeLessThan(many[1].id);
    const payloads = await ds.query(`SELECT alert_id, payload FROM webhook_deliveries WHERE id = ANY($1::bigint[]) ORDER BY id`, [many.map((r) => r.id)]);
    expect(payloads.map((p: { payload: unknown }) => p.payload)).toEqual([
      { b: 2, device_external_id: 'dev-2' },
      { c: 3, device_external_id: 'dev-1' },
    ]);
  });

  it('claims a due delivery once, with the secrets valid now, newest first', async () => {
    const id = await newDelivery();
    const [claimed] = await deliveries.claimMany([{ scope: t, id }], LEASE_MS);
    expect(claimed).toMatchObject({ id, webhook_id: webhookId, event: 'webhook.test', payload: { hello: 'world' }, attempts: 0, enabled: true });
    expect(claimed.secrets).toEqual(['whsec_current', 'whsec_old']);
    // A duplicate job (or another worker) finds nothing to claim while the lease holds.
    expect(await deliveries.claimMany([{ scope: t, id }], LEASE_MS)).toEqual([]);
    expect(await deliveries.get(t, id)).toMatchObject({ status: 'sending' });
  });

  it('lets a lapsed lease be claimed again, and never another tenant’s delivery', async () => {
    const id = await newDelivery();
    const other = await makeTenant(ds, 1);
    expect(await deliveries.claimMany([{ scope: other, id }], LEASE_MS)).toEqual([]);
    expect(await deliveries.claimMany([{ scope: t, id }], 1)).toHaveLength(1);
    await ds.query(`SELECT pg_sleep(0.01)`);
    expect(await deliveries.claimMany([{ scope: t, id }], LEASE_MS)).toHaveLength(1);
  });

  it('records outcomes and releases the claim', async () => {
    const ok = await newDelivery();
    const retry = await newDelivery();
    await deliveries.claimMany([ok, retry].map((id) => ({ scope: t, id })), LEASE_MS);
    const later = new Date(Date.now() + 3_600_000);
    await deliveries.finishMany([
      { scope: t, id: ok, result: result('success', 200) },
      { scope: t, id: retry, result: result('retrying', 503, later) },
    ]);
    const done = await deliveries.get(t, ok);
    expect(done).toMatchObject({ status: 'success', attempts: 1, last_status_code: 200, next_attempt_at: null });
    expect(done!.delivered_at).toBeInstanceOf(Date);
    expect(done!.attempt_log).toHaveLength(1);
    expect(await deliveries.get(t, retry)).toMatchObject({ status: 'retrying', attempts: 1, last_status_code: 503, last_error: 'HTTP 503', next_attempt_at: later });
    // Not due yet: a job woken early claims nothing.
    expect(await deliveries.claimMany([{ scope: t, id: retry }], LEASE_MS)).toEqual([]);
    // A finished delivery is never claimed again, until an operator restarts it.
    expect(await deliveries.claimMany([{ scope: t, id: ok }], LEASE_MS)).toEqual([]);
    expect(await deliveries.restart(t, ok)).toMatchObject({ status: 'pending', chain_start: 1 });
    expect(await deliveries.claimMany([{ scope: t, id: ok }], LEASE_MS)).toHaveLength(1);
  });

  it('unclaims without spending an attempt; postpones only waiting deliveries', async () => {
    const id = await newDelivery();
    await deliveries.claimMany([{ scope: t, id }], LEASE_MS);
    const until = new Date(Date.now() + 600_000);
    // A claimed (sending) delivery is not postponed: its sender decides.
    expect(await deliveries.postponeMany([{ scope: t, id, until }])).toEqual([]);
    await deliveries.unclaim(t, id, new Date());
    expect(await deliveries.get(t, id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await deliveries.postponeMany([{ scope: t, id, until }])).toEqual([{ id, attempts: 0, next_attempt_at: until }]);
    expect(await deliveries.claimMany([{ scope: t, id }], LEASE_MS)).toEqual([]);
    expect((await deliveries.releaseWaiting(t, webhookId)).map((r) => r.id)).toContain(id);
    expect(await deliveries.claimMany([{ scope: t, id }], LEASE_MS)).toHaveLength(1);
  });
});
