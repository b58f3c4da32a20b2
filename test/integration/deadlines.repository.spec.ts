import { DataSource } from 'typeorm';
import { inTransaction } from '../../src/core/database/transaction';
import { DeadlinesRepository } from '../../src/modules/rules/scheduling/deadlines.repository';
import { makeRule, makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

/** Large enough that other suites' rows in the run's database cannot crowd ours out. */
const ALL = 1_000_000;

describe('DeadlinesRepository (real Postgres)', () => {
  let ds: DataSource;
  let deadlines: DeadlinesRepository;
  let t: RepoTenant;
  let ruleId: number;

  beforeAll(async () => {
    ds = await openDataSource();
    deadlines = new DeadlinesRepository(ds);
    t = await makeTenant(ds, 3);
    ruleId = await makeRule(ds, t, { forSeconds: 60 });
  });
  afterAll(() => ds?.destroy());

  const mine = async () => (await deadlines.dueDevices(ALL)).filter((d) => d.project_id === t.projectId);

  it('finds the devices with a row due now, earliest first, with their tenant', async () => {
    const [a, b, c] = t.devices;
    const now = Date.now();
    await inTransaction(ds, async (tx) => {
      await deadlines.put(tx, { ruleId, deviceId: a, projectId: t.projectId, clockAt: new Date(now - 60_000), dueAt: new Date(now - 1_000) });
      await deadlines.put(tx, { ruleId, deviceId: b, projectId: t.projectId, clockAt: new Date(now - 60_000), dueAt: new Date(now - 5_000) });
      // Not due yet, and one waiting for data (no due time): neither is found.
      await deadlines.put(tx, { ruleId, deviceId: c, projectId: t.projectId, clockAt: new Date(now), dueAt: new Date(now + 3_600_000) });
    });
    expect(await mine()).toEqual([
      { device_id: b, project_id: t.projectId, org_id: t.orgId },
      { device_id: a, project_id: t.projectId, org_id: t.orgId },
    ]);
  });

  it('moves a due time only while the row’s clock is the one it was computed from', async () => {
    const [a, b] = t.devices;
    const rows = await inTransaction(ds, (tx) => deadlines.forDevices(tx, [a, b]));
    const rowA = rows.get(a)!.get(ruleId)!;
    const rowB = rows.get(b)!.get(ruleId)!;
    // b's clock restarts meanwhile (a reading arrived): its stale change must not apply.
    await inTransaction(ds, (tx) => deadlines.put(tx, { ruleId, deviceId: b, projectId: t.projectId, clockAt: new Date(), dueAt: new Date(Date.now() - 1) }));
    await inTransaction(ds, (tx) =>
      deadlines.setDue(tx, [
        { row: rowA, dueAt: null },
        { row: rowB, dueAt: null },
      ]),
    );
    expect((await mine()).map((d) => d.device_id)).toEqual([b]);
  });

  it('clears a rule’s rows with the rule, and a pair’s row on its own', async () => {
    const [, b] = t.devices;
    await inTransaction(ds, (tx) => deadlines.remove(tx, ruleId, b));
    expect(await mine()).toEqual([]);
    await inTransaction(ds, (tx) => deadlines.clearRule(tx, ruleId));
    const [{ count }] = await ds.query(`SELECT count(*)::int AS count FROM rule_deadlines WHERE rule_id = $1`, [ruleId]);
    expect(count).toBe(0);
  });

  it('writes no row for a rule that went while its evaluation ran (disabled or deleted)', async () => {
    const [a] = t.devices;
    const count = async (id: number) => (await ds.query(`SELECT count(*)::int AS count FROM rule_deadlines WHERE rule_id = $1`, [id]))[0].count;
    const row = (id: number) => ({ ruleId: id, deviceId: a, projectId: t.projectId, clockAt: new Date(), dueAt: new Date(Date.now() + 60_000) });
    const disabled = await makeRule(ds, t, { forSeconds: 60 });
    await ds.query(`UPDATE rules SET enabled = false WHERE id = $1`, [disabled]);
    await inTransaction(ds, (tx) => deadlines.put(tx, row(disabled)));
    expect(await count(disabled)).toBe(0);
    const deleted = await makeRule(ds, t, { forSeconds: 60 });
    await ds.query(`DELETE FROM rules WHERE id = $1`, [deleted]);
    // Before, the insert failed on the foreign key and the evaluation logged an error.
    await inTransaction(ds, (tx) => deadlines.put(tx, row(deleted)));
    expect(await count(deleted)).toBe(0);
    const live = await makeRule(ds, t, { forSeconds: 60 });
    await inTransaction(ds, (tx) => deadlines.put(tx, row(live)));
    expect(await count(live)).toBe(1);
  });

  it('moves no-data clocks by the metrics their rules watch, looking only for those in the readings', async () => {
    const own = await makeTenant(ds, 2);
    const [a, b] = own.devices;
    const noData = async (metric: string | null) => {
      const [r] = await ds.query(
        `INSERT INTO rules (project_id, name, type, metric, no_data_seconds, scope) VALUES ($1, 'quiet', 'no_data', $2, 60, 'ALL') RETURNING id`,
        [own.projectId, metric],
      );
      await inTransaction(ds, (tx) => deadlines.syncRule(tx, Number(r.id), true));
      return Number(r.id);
    };
    const [temp, any] = [await noData('temp'), await noData(null)];
    const lastReading = async (rule: number, device: number) =>
      (await ds.query(`SELECT last_reading_at FROM rule_deadlines WHERE rule_id = $1 AND device_id = $2`, [rule, device]))[0].last_reading_at?.toISOString() ?? null;
    const t1 = new Date(Date.now() + 60_000).toISOString();
    const t2 = new Date(Date.now() + 120_000).toISOString();
    const wide: Record<string, unknown> = { temp: null, constructor: 1 };
    for (let k = 0; k < 2_000; k++) wide[`k${k}`] = k;
    // a: a wide reading without temp (null), then one with it; b: only a reading of temp.
    await deadlines.recordArrivals([{ deviceId: a, at: t1, readings: [{ data: wide }] }]);
    expect([await lastReading(temp, a), await lastReading(any, a)]).toEqual([null, t1]);
    await deadlines.recordArrivals([
      { deviceId: a, at: t2, readings: [{ data: { hum: 1 } }, { data: { temp: 20 } }] },
      { deviceId: b, at: t1, readings: [{ data: { temp: 21 } }] },
      // A device of a project without no-data rules changes nothing.
      { deviceId: t.devices[0], at: t2, readings: [{ data: { temp: 1 } }] },
    ]);
    expect([await lastReading(temp, a), await lastReading(any, a), await lastReading(temp, b), await lastReading(any, b)]).toEqual([t2, t2, t1, t1]);
  });
});
