import { DataSource } from 'typeorm';
import { inTransaction } from '../../src/core/database/transaction';
import { carriedBy, MAX_LISTED_METRICS } from '../../src/modules/rules/scheduling/arrivals.service';
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

  it('moves the silence clocks of the no-data rules an arrival concerns, and only theirs', async () => {
    const u = await makeTenant(ds, 2);
    const [a, b] = u.devices;
    const noData = async (metric: string | null) => {
      const [rule] = await ds.query(
        `INSERT INTO rules (project_id, name, type, metric, no_data_seconds, scope) VALUES ($1, 'silent', 'no_data', $2, 60, 'ALL') RETURNING id`,
        [u.projectId, metric],
      );
      await inTransaction(ds, (tx) => deadlines.syncRule(tx, Number(rule.id), true));
      return Number(rule.id);
    };
    const temp = await noData('temp');
    const any = await noData(null);
    const lastReading = async (rule: number, device: number) =>
      (await ds.query(`SELECT last_reading_at FROM rule_deadlines WHERE rule_id = $1 AND device_id = $2`, [rule, device]))[0].last_reading_at;
    const arrival = (deviceId: number, at: string, data: Record<string, unknown>[]) => ({ projectId: u.projectId, deviceId, at, ...carriedBy(data.map((d) => ({ data: d }))) });
    const later = new Date(Date.now() + 60_000).toISOString();

    // A wide reading without temp (and a null temp): only the metric-null rule's clock moves.
    const wide: Record<string, unknown> = { temp: null };
    for (let k = 0; k < 10_000; k++) wide[`k${k}`] = k;
    await deadlines.recordArrivals([arrival(a, later, [wide])]);
    expect(await lastReading(any, a)).toEqual(new Date(later));
    expect(await lastReading(temp, a)).toBeNull();
    // temp in any reading of the batch moves the temp rule's clock; a device's arrival is its own.
    const latest = new Date(Date.now() + 120_000).toISOString();
    await deadlines.recordArrivals([arrival(a, latest, [{ hum: 1 }, { temp: 20 }])]);
    expect(await lastReading(temp, a)).toEqual(new Date(latest));
    expect(await lastReading(temp, b)).toBeNull();
    // A wide reading that carries temp: found among its keys without listing them.
    const wider = arrival(a, new Date(Date.now() + 180_000).toISOString(), [{ ...wide, temp: 21 }]);
    expect(wider.metrics).toBeNull();
    expect(arrival(a, later, [Object.fromEntries(Array.from({ length: MAX_LISTED_METRICS }, (_, k) => [`k${k}`, k]))]).metrics).toHaveLength(MAX_LISTED_METRICS);
    await deadlines.recordArrivals([wider]);
    expect(await lastReading(temp, a)).toEqual(new Date(wider.at));
    // A device no no-data rule watches: nothing to do.
    await expect(deadlines.recordArrivals([arrival(-1, latest, [{ temp: 1 }])])).resolves.toEqual([false]);
  });

  it('answers which arrivals need their device evaluated: a threshold rule in the project, or an open alert the arrival may resolve', async () => {
    const u = await makeTenant(ds, 3);
    const [a, b, c] = u.devices;
    const [rule] = await ds.query(
      `INSERT INTO rules (project_id, name, type, metric, no_data_seconds, scope) VALUES ($1, 'silent', 'no_data', NULL, 60, 'ALL') RETURNING id`,
      [u.projectId],
    );
    const noData = Number(rule.id);
    await inTransaction(ds, (tx) => deadlines.syncRule(tx, noData, true));
    let step = 0;
    const arriveAt = (at: string, devices: number[]) =>
      deadlines.recordArrivals(devices.map((deviceId) => ({ projectId: u.projectId, deviceId, at, ...carriedBy([{ data: { v: 1 } }]) })));
    const arrive = (...devices: number[]) => arriveAt(new Date(Date.now() + ++step * 1_000).toISOString(), devices);
    const dueAt = async (device: number) => (await ds.query(`SELECT due_at FROM rule_deadlines WHERE rule_id = $1 AND device_id = $2`, [noData, device]))[0].due_at;

    // Only a no-data rule, no alert: moving the clock was all there was to do.
    expect(await arrive(a, b, c)).toEqual([false, false, false]);
    // b's alert is open (its evaluation left the row waiting for data), c's row waits after a
    // by-hand resolve: each one's next arrival asks for an evaluation, and b's asks again while
    // its alert stays open.
    await ds.query(`INSERT INTO alerts (project_id, device_id, rule_id, status, severity, details) VALUES ($1, $2, $3, 'firing', 'warning', '{}')`, [u.projectId, b, noData]);
    await ds.query(`UPDATE rule_deadlines SET due_at = NULL WHERE rule_id = $1 AND device_id = ANY($2::bigint[])`, [noData, [b, c]]);
    const at = new Date(Date.now() + ++step * 1_000).toISOString();
    expect(await arriveAt(at, [a, b, c])).toEqual([false, true, true]);
    expect(await dueAt(b)).not.toBeNull();
    // The same arrival again (its job run again after a crash): its rows moved already, and b
    // still asks for the evaluation the first run may not have queued.
    expect(await arriveAt(at, [a, b, c])).toEqual([false, true, false]);
    expect(await arrive(a, b, c)).toEqual([false, true, false]);
    await ds.query(`UPDATE alerts SET status = 'resolved', resolved_at = now() WHERE rule_id = $1`, [noData]);
    expect(await arrive(b)).toEqual([false]);

    // A threshold rule counts once enabled: every arrival of the project is then evaluated.
    const threshold = await makeRule(ds, u);
    await ds.query(`UPDATE rules SET enabled = false WHERE id = $1`, [threshold]);
    expect(await arrive(a)).toEqual([false]);
    await ds.query(`UPDATE rules SET enabled = true WHERE id = $1`, [threshold]);
    expect(await arrive(a, c)).toEqual([true, true]);
    // Another project's arrivals in the same flush keep their own answer.
    const other = await makeTenant(ds, 1);
    const later = new Date(Date.now() + ++step * 1_000).toISOString();
    expect(
      await deadlines.recordArrivals([
        { projectId: other.projectId, deviceId: other.devices[0], at: later, ...carriedBy([{ data: { v: 1 } }]) },
        { projectId: u.projectId, deviceId: a, at: later, ...carriedBy([{ data: { v: 1 } }]) },
      ]),
    ).toEqual([false, true]);
  });

  it('makes a pair due now when its clock moved under an evaluation that leaves its alert open', async () => {
    const u = await makeTenant(ds, 2);
    const [a, b] = u.devices;
    const [rule] = await ds.query(
      `INSERT INTO rules (project_id, name, type, metric, no_data_seconds, scope) VALUES ($1, 'silent', 'no_data', NULL, 60, 'ALL') RETURNING id`,
      [u.projectId],
    );
    const noData = Number(rule.id);
    await inTransaction(ds, (tx) => deadlines.syncRule(tx, noData, true));
    const read = (await inTransaction(ds, (tx) => deadlines.forDevices(tx, [a, b])));
    // Both silences ended before the evaluation opened their alerts (due null); a reading of b
    // arrived after the evaluation read b's row, and saw no alert to resolve.
    await deadlines.recordArrivals([{ projectId: u.projectId, deviceId: b, at: new Date(Date.now() + 5_000).toISOString(), ...carriedBy([{ data: { v: 1 } }]) }]);
    await inTransaction(ds, (tx) =>
      deadlines.setDue(tx, [
        { row: read.get(a)!.get(noData)!, dueAt: null },
        { row: read.get(b)!.get(noData)!, dueAt: null },
      ]),
    );
    const rows: { device_id: string; due: boolean | null }[] = await ds.query(
      `SELECT device_id, due_at <= now() AS due FROM rule_deadlines WHERE rule_id = $1 ORDER BY device_id`,
      [noData],
    );
    // a waits for data; b is due at once, so the timer evaluates it again and resolves its alert.
    expect(rows.map((r) => r.due)).toEqual([null, true]);
  });
});
