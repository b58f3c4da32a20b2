import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { expectedBuckets, expectedStats, Sent } from '../support/analytics';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { countReadings, openDb, waitFor } from '../support/telemetry';

/**
 * Issue 13: wide events and many distinct metrics must not stall the reading writer, and the
 * project-wide analytics over them (rollups, their deltas and marks) stay exact. Timings and
 * another project's latency meanwhile go to the log (no timing is asserted); everything
 * being stored and every answer equalling the reference is.
 */

const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const log = (line: string) => process.stdout.write(`[wide events] ${line}\n`);

describe('the reading writer with wide events and many metrics', () => {
  let app: RunningApp;
  let db: Pool;
  let a: Tenant;
  let b: Tenant;
  let bDevice: { id: number; external_id: string };
  let bSeq = 0;

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
    [a, b] = await Promise.all([createTenant(app), createTenant(app)]);
    bDevice = await createDevice(b);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  /** Project B sends one queued reading every 100 ms while `busy` runs: POST → stored and POST → 202, in ms. */
  async function otherProjectLatency(busy: Promise<unknown>): Promise<{ stored: number[]; answered: number[] }> {
    const out = { stored: [] as number[], answered: [] as number[] };
    let done = false;
    busy.then(
      () => (done = true),
      () => (done = true),
    );
    // One reading every 100 ms as long as A's work lasts (at least one).
    do {
      const before = await countReadings(db, { deviceId: bDevice.id });
      const t0 = Date.now();
      const res = await b.http.post('/telemetry', { device_external_id: bDevice.external_id, events: [{ ts: iso(Date.now()), data: { v: bSeq }, event_id: `b${bSeq++}` }] });
      expect(res.status).toBe(202);
      out.answered.push(Date.now() - t0);
      await waitFor(() => countReadings(db, { deviceId: bDevice.id }), (n) => n > before, { intervalMs: 5, timeoutMs: 120_000, what: "project B's reading" });
      out.stored.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    } while (!done);
    await busy;
    return out;
  }

  const median = (ms: number[]) => [...ms].sort((x, y) => x - y)[Math.floor(ms.length / 2)];
  const summary = ({ stored, answered }: { stored: number[]; answered: number[] }) =>
    `${stored.length} readings, POST → stored max ${Math.max(...stored)} ms, median ${median(stored)} ms (POST → 202 max ${Math.max(...answered)} ms)`;

  async function stats(t: Tenant, metric: string, from: number, to: number) {
    const res = await t.http.get(`/telemetry/stats?metric=${encodeURIComponent(metric)}&from=${iso(from)}&to=${iso(to)}`);
    expect(res.status).toBe(200);
    return res.body;
  }
  async function aggregate(t: Tenant, metric: string, from: number, to: number) {
    const res = await t.http.get(`/telemetry/aggregate?metric=${encodeURIComponent(metric)}&interval=1m&from=${iso(from)}&to=${iso(to)}`);
    expect(res.status).toBe(200);
    return res.body.buckets;
  }

  it('stores a 10,000-key event quickly, without holding up another project, and analytics stay exact', async () => {
    const device = await createDevice(a);
    const now = Math.floor(Date.now() / MINUTE) * MINUTE;
    const from = now - 30 * MINUTE;
    const to = now + 2 * MINUTE;
    const sent: Record<string, Sent[]> = {};
    const wide = (ms: number, salt: number) => {
      const data: Record<string, unknown> = {};
      for (let k = 0; k < 10_000; k++) data[`m${k}`] = k % 50 === 49 ? `text-${k}` : ((k * 7 + salt) % 400) / 4;
      return { ts: iso(ms), data, event_id: `wide-${salt}` };
    };
    const remember = (ev: { ts: string; data: Record<string, unknown> }) => {
      for (const m of ['m0', 'm1', 'm49', 'm9998']) (sent[m] ??= []).push({ deviceId: device.id, ms: Date.parse(ev.ts), value: ev.data[m] });
    };

    // Rollups of the window exist before the wide events, so their deltas are merged later.
    for (const m of ['m0', 'm1', 'm9998']) expect(await stats(a, m, from, to)).toEqual(expectedStats([], from, to));

    for (const [salt, ms] of [[1, now - 20 * MINUTE + 1234], [2, now - 5 * MINUTE + 17], [3, now + 3]] as const) {
      const ev = wide(ms, salt);
      const t0 = Date.now();
      const stored = a.http.post('/telemetry?wait=true', { device_external_id: device.external_id, events: [ev] });
      const others = await otherProjectLatency(stored);
      const res = await stored;
      expect(res.status).toBe(201);
      expect(res.body.stored).toBe(1);
      log(`10,000-key event stored (wait=true) in ${Date.now() - t0} ms; project B meanwhile: ${summary(others)}`);
      remember(ev);
    }
    for (const m of ['m0', 'm1', 'm49', 'm9998']) {
      expect(await stats(a, m, from, to)).toEqual(expectedStats(sent[m], from, to));
      expect(await aggregate(a, m, from, to)).toEqual(expectedBuckets(sent[m], 60, from, to));
    }
    expect(await countReadings(db, { deviceId: device.id })).toBe(3);
  });

  it('stores 5,000 events of 5,000 distinct metrics, then ten such batches, and analytics stay exact', async () => {
    const devices = await Promise.all([0, 1].map(() => createDevice(a)));
    const now = Date.now();
    const from = now - 60 * MINUTE;
    const to = now + MINUTE;
    const sent: Record<string, Sent[]> = {};
    const batch = (n: number, device: { id: number; external_id: string }) => {
      const events = Array.from({ length: 5000 }, (_, i) => {
        const ms = now - 50 * MINUTE + i * 500 + n;
        const metric = `n${n}_${i}`;
        const value = ((i * 13 + n) % 1000) / 8;
        (sent[metric] ??= []).push({ deviceId: device.id, ms, value });
        (sent.shared ??= []).push({ deviceId: device.id, ms, value });
        return { ts: iso(ms), data: { [metric]: value, shared: value }, event_id: `n${n}-${i}` };
      });
      return { device_external_id: device.external_id, events };
    };
    const storedCount = () => Promise.all(devices.map((d) => countReadings(db, { deviceId: d.id }))).then((ns) => ns[0] + ns[1]);

    // Built rollups for the shared metric and two of the distinct ones first.
    for (const m of ['shared', 'n0_0', 'n7_4999']) expect((await stats(a, m, from, to)).count).toBe(0);

    let t0 = Date.now();
    const one = a.http.post('/telemetry', batch(0, devices[0]));
    expect((await one).status).toBe(202);
    const drainOne = waitFor(storedCount, (n) => n === 5000, { timeoutMs: 120_000, intervalMs: 20, what: '5,000 readings' });
    const others1 = await otherProjectLatency(drainOne);
    log(`5,000 events of 5,000 distinct metrics stored in ${Date.now() - t0} ms; project B meanwhile: ${summary(others1)}`);

    t0 = Date.now();
    const posts = await Promise.all(Array.from({ length: 10 }, (_, k) => a.http.post('/telemetry', batch(k + 1, devices[k % 2]))));
    for (const p of posts) expect(p.status).toBe(202);
    const acceptedMs = Date.now() - t0;
    const drainTen = waitFor(storedCount, (n) => n === 55_000, { timeoutMs: 180_000, intervalMs: 50, what: '55,000 readings' });
    const others10 = await otherProjectLatency(drainTen);
    log(`50,000 distinct metrics over ten batches: all 202 after ${acceptedMs} ms, drained in ${Date.now() - t0} ms; project B meanwhile: ${summary(others10)}`);

    for (const m of ['shared', 'n0_0', 'n7_4999', 'n3_2500', 'n10_0']) {
      expect(await stats(a, m, from, to)).toEqual(expectedStats(sent[m], from, to));
    }
    expect(await aggregate(a, 'shared', from, to)).toEqual(expectedBuckets(sent.shared, 60, from, to));
  }, 400_000);
});
