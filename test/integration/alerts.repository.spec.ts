import { DataSource } from 'typeorm';
import { inTransaction } from '../../src/core/database/transaction';
import { AlertsRepository } from '../../src/modules/alerts/alerts.repository';
import { makeRule, makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

describe('AlertsRepository (real Postgres)', () => {
  let ds: DataSource;
  let alerts: AlertsRepository;
  let t: RepoTenant;
  let ruleId: number;

  beforeAll(async () => {
    ds = await openDataSource();
    alerts = new AlertsRepository(ds);
    t = await makeTenant(ds, 3);
    ruleId = await makeRule(ds, t);
  });
  afterAll(() => ds?.destroy());

  const open = (deviceId: number) =>
    inTransaction(ds, (tx) => alerts.open(tx, t, { deviceId, ruleId, severity: 'warning', details: { value: 42 } }));

  it('opens one alert per (rule, device) until it is resolved', async () => {
    const first = await open(t.devices[0]);
    expect(first).toMatchObject({ project_id: t.projectId, device_id: t.devices[0], rule_id: ruleId, status: 'firing', details: { value: 42 } });
    expect(await open(t.devices[0])).toBeNull();

    const acked = await alerts.transition(null, t, first!.id, 'acknowledged');
    expect(acked).toMatchObject({ status: 'acknowledged', resolved_at: null });
    expect(acked!.acknowledged_at).toBeInstanceOf(Date);
    expect(await open(t.devices[0])).toBeNull();

    const resolved = await alerts.transition(null, t, first!.id, 'resolved');
    expect(resolved).toMatchObject({ status: 'resolved' });
    expect(resolved!.resolved_at).toBeInstanceOf(Date);
    expect(await alerts.transition(null, t, first!.id, 'resolved')).toBeNull();

    const again = await open(t.devices[0]);
    expect(again).toMatchObject({ status: 'firing' });
    expect(again!.id).not.toBe(first!.id);
  });

  it('keeps one open alert per pair under concurrent opens', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => open(t.devices[1])));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const [{ count }] = await ds.query(
      `SELECT count(*)::int AS count FROM alerts WHERE rule_id = $1 AND device_id = $2 AND status <> 'resolved'`,
      [ruleId, t.devices[1]],
    );
    expect(count).toBe(1);
  });

  it('opens nothing, and fails nothing, for a rule deleted since the evaluation read it', async () => {
    const gone = await makeRule(ds, t);
    await ds.query(`DELETE FROM rules WHERE id = $1`, [gone]);
    const row = (deviceId: number, rule: number) => ({ projectId: t.projectId, deviceId, ruleId: rule, severity: 'warning', details: { gone: true } });
    await inTransaction(ds, async (tx) => {
      expect(await alerts.open(tx, t, { deviceId: t.devices[0], ruleId: gone, severity: 'warning', details: {} })).toBeNull();
      // Nor in a batch; and the transaction goes on (a failed statement would have aborted it).
      const opened = await alerts.openMany(tx, [row(t.devices[0], gone), row(t.devices[2], gone)]);
      expect(opened).toEqual([]);
    });
    const live = await makeRule(ds, t);
    const opened = await inTransaction(ds, (tx) => alerts.openMany(tx, [row(t.devices[0], gone), row(t.devices[0], live)]));
    expect(opened.map((a) => [a.device_id, a.rule_id])).toEqual([[t.devices[0], live]]);
    const [{ count }] = await ds.query(`SELECT count(*)::int AS count FROM alerts WHERE rule_id = $1`, [gone]);
    expect(count).toBe(0);
  });

  it('openMany leaves out pairs that already have an open alert', async () => {
    const rows = (deviceIds: number[]) =>
      deviceIds.map((deviceId) => ({ projectId: t.projectId, deviceId, ruleId, severity: 'critical', details: { d: deviceId } }));
    // devices[1] has one open from the test before; devices[2] none.
    const opened = await inTransaction(ds, (tx) => alerts.openMany(tx, rows([t.devices[1], t.devices[2]])));
    expect(opened.map((a) => a.device_id)).toEqual([t.devices[2]]);
    expect(opened[0]).toMatchObject({ severity: 'critical', details: { d: t.devices[2] } });
    expect(await inTransaction(ds, (tx) => alerts.openMany(tx, rows([t.devices[2]])))).toEqual([]);
  });

  it('moves only its own tenant’s alerts', async () => {
    const other = await makeTenant(ds, 1);
    const mine = await open(t.devices[0]);
    expect(mine).toBeNull(); // devices[0] has its second alert open
    const [row] = await ds.query(`SELECT id FROM alerts WHERE device_id = $1 AND status = 'firing'`, [t.devices[0]]);
    expect(await alerts.transition(null, other, Number(row.id), 'resolved')).toBeNull();
    expect(await alerts.get(other, Number(row.id))).toBeNull();
    expect(await alerts.get(t, Number(row.id))).toMatchObject({ status: 'firing' });
  });
});
