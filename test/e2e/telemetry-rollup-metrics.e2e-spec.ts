import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { expectedBuckets, expectedStats, expectStatsEqual, Sent } from '../support/analytics';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { openDb } from '../support/telemetry';

/**
 * ROLLUP_METRICS_PER_PROJECT (docs/analytics.md, "Which metrics have rollups"): the first
 * metrics a project writes numbers for get rollups, later ones are answered from the readings,
 * and every answer stays the exact one; a metric never written costs no rollups at all.
 */

const HOUR = 3_600_000;
/** Fixed past hours of this suite's own, so the first query builds the rollups of whole hours. */
const START = Date.parse('2026-02-12T03:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('metrics past the rollup limit', () => {
  let app: RunningApp;
  let db: Pool;
  let t: Tenant;
  let other: Tenant;

  beforeAll(async () => {
    app = await startApp({ ROLLUP_METRICS_PER_PROJECT: '2' });
    db = openDb();
    [t, other] = await Promise.all([createTenant(app), createTenant(app)]);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  const rollupMetrics = async (projectId: number) =>
    (await db.query(`SELECT DISTINCT metric FROM metric_rollups WHERE project_id = $1 ORDER BY metric`, [projectId])).rows.map((r) => r.metric);

  it('answers every metric exactly, the first two from rollups and the rest from the readings', async () => {
    const devices = await Promise.all([0, 1].map(() => createDevice(t)));
    const sent: Record<string, Sent[]> = {};
    let seq = 0;
    const send = async (device: { id: number; external_id: string }, points: { ms: number; data: Record<string, number | string> }[]) => {
      const res = await t.http.post('/telemetry?wait=true', {
        device_external_id: device.external_id,
        events: points.map((p) => ({ ts: iso(p.ms), data: p.data, event_id: `e${seq++}` })),
      });
      expect(res.status).toBe(201);
      for (const p of points) for (const [m, value] of Object.entries(p.data)) (sent[m] ??= []).push({ deviceId: device.id, ms: p.ms, value });
    };
    const from = START;
    const to = START + 3 * HOUR;
    const check = async (metric: string) => {
      const stats = await t.http.get(`/telemetry/stats?metric=${metric}&from=${iso(from)}&to=${iso(to)}`);
      expect(stats.status).toBe(200);
      expectStatsEqual(stats.body, expectedStats(sent[metric] ?? [], from, to));
      for (const interval of [['1h', 3600], ['1m', 60]] as const) {
        const agg = await t.http.get(`/telemetry/aggregate?metric=${metric}&interval=${interval[0]}&from=${iso(from)}&to=${iso(to)}`);
        expect(agg.status).toBe(200);
        expect(agg.body.buckets).toEqual(expectedBuckets(sent[metric] ?? [], interval[1], from, to));
      }
    };

    // A text value admits nothing; "temp" and "hum" are the first two numeric metrics.
    await send(devices[0], [{ ms: START + 60_000, data: { label: 'x', temp: 20, hum: 40 } }]);
    await send(devices[1], [{ ms: START + 61_000, data: { temp: 22, volts: 3.3, amps: 1.5 } }]);
    for (const m of ['temp', 'hum', 'volts', 'amps']) await check(m);
    expect(await rollupMetrics(t.projectId)).toEqual(['hum', 'temp']);

    // Live readings and a backfill after the rollups exist: still exact, still only two metrics rolled up.
    await send(devices[0], [0, 1, 2, 3, 4, 5].map((k) => ({ ms: START + HOUR + k * 300_000, data: { temp: 10 + k, volts: 3 + k / 10 } })));
    await send(devices[1], [{ ms: START + 2 * HOUR + 5_000, data: { temp: 30, amps: 2, hum: 41 } }]);
    for (const m of ['temp', 'hum', 'volts', 'amps']) await check(m);
    expect(await rollupMetrics(t.projectId)).toEqual(['hum', 'temp']);
    const [deltas] = (await db.query(`SELECT count(*)::int AS n FROM metric_rollup_deltas WHERE project_id = $1 AND metric IN ('volts', 'amps')`, [t.projectId])).rows;
    expect(deltas.n).toBe(0);

    // Another project has a limit of its own.
    const d = await createDevice(other);
    const res = await other.http.post('/telemetry?wait=true', { device_external_id: d.external_id, events: [{ ts: iso(START + 60_000), data: { volts: 5, amps: 6 } }] });
    expect(res.status).toBe(201);
    expect((await other.http.get(`/telemetry/stats?metric=volts&from=${iso(from)}&to=${iso(to)}`)).body.count).toBe(1);
    expect(await rollupMetrics(other.projectId)).toEqual(['volts']);
  });

  it('answers a metric never written with nothing, and builds no rollups for it', async () => {
    const fresh = await createTenant(app);
    const from = START;
    const to = START + 30 * 24 * HOUR;
    const stats = await fresh.http.get(`/telemetry/stats?metric=never&from=${iso(from)}&to=${iso(to)}`);
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual(expectedStats([], from, to));
    const agg = await fresh.http.get(`/telemetry/aggregate?metric=never&interval=1h&from=${iso(from)}&to=${iso(to)}`);
    expect(agg.body.buckets).toEqual([]);
    expect(await rollupMetrics(fresh.projectId)).toEqual([]);
  });
});
