import type { Pool } from 'pg';
import { ADVISORY_LOCKS } from '../../src/core/database/advisory-locks';
import { expectedBuckets, expectedStats, Sent } from '../support/analytics';
import { RunningApp, scrapeMetrics, startApp } from '../support/app';
import { openDb, waitFor } from '../support/telemetry';
import { createDevice, createTenant, Tenant } from '../support/tenant';

/**
 * After a backfill through POST /telemetry the worker's catch-up job merges its deltas into the
 * hours whose rollups exist (or rebuilds them where it left marks), without any query, so queries
 * read the rollups alone again; a backfill written while a catch-up runs gets a job of its own
 * (docs/analytics.md, "Keeping rollups exact").
 */

const HOUR = 3_600_000;
/** A fixed past hour, so the rollups of its whole hours are built by the first query. */
const START = Date.parse('2026-02-12T06:00:00Z');
const END = START + 4 * HOUR - 1;
const iso = (ms: number) => new Date(ms).toISOString();

describe('rollup catch-up after a backfill', () => {
  let app: RunningApp;
  let db: Pool;

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  async function setup() {
    const t = await createTenant(app);
    const devs = await Promise.all([0, 1].map(() => createDevice(t)));
    const stored: Sent[] = [];
    let seq = 0;
    /** Readings of `temp` at `points`, each a multiple of 0.5 so sums compare exactly. */
    const events = (points: number[], salt: number) =>
      points.map((ms, i) => {
        const value = ((i * 37 + salt * 11) % 200) / 2 - 40;
        return { ts: iso(ms), data: { temp: value }, event_id: `e${seq++}`, value, ms };
      });
    /** Stored before answering (201). */
    const sendNow = async (device: { id: number; external_id: string }, points: number[], salt: number) => {
      const evs = events(points, salt);
      const res = await t.http.post('/telemetry?wait=true', { device_external_id: device.external_id, events: evs });
      expect(res.status).toBe(201);
      stored.push(...evs.map((e) => ({ deviceId: device.id, ms: e.ms, value: e.value })));
    };
    /** Queued (202) and stored by the worker's coalescing writer; resolves once durable. */
    const sendQueued = async (device: { id: number; external_id: string }, points: number[], salt: number) => {
      const evs = events(points, salt);
      const res = await t.http.post('/telemetry', { device_external_id: device.external_id, events: evs });
      expect(res.status).toBe(202);
      const ids = evs.map((e) => e.event_id);
      await waitFor(
        async () => Number((await db.query(`SELECT count(*) FROM readings WHERE device_id = $1 AND event_id = ANY($2::text[])`, [device.id, ids])).rows[0].count),
        (n) => n === ids.length,
        { what: 'the backfill to be durable' },
      );
      stored.push(...evs.map((e) => ({ deviceId: device.id, ms: e.ms, value: e.value })));
    };
    /** What a backfill left waiting for the catch-up: marks and deltas. */
    const pending = async () =>
      Number(
        (
          await db.query(
            `SELECT (SELECT count(*) FROM metric_rollup_marks WHERE project_id = $1) + (SELECT count(*) FROM metric_rollup_deltas WHERE project_id = $1) AS n`,
            [t.projectId],
          )
        ).rows[0].n,
      );
    /** Hour rows as stored (no query made): start → count. */
    const hourCounts = async () =>
      Object.fromEntries(
        (
          await db.query(`SELECT start, count FROM metric_rollups WHERE project_id = $1 AND metric = 'temp' AND span_s = 3600 ORDER BY start`, [
            t.projectId,
          ])
        ).rows.map((r: { start: Date; count: string }) => [r.start.toISOString(), Number(r.count)]),
      );
    const expectedHourCounts = () =>
      Object.fromEntries([0, 1, 2, 3].map((k) => [iso(START + k * HOUR), stored.filter((s) => s.ms >= START + k * HOUR && s.ms < START + (k + 1) * HOUR).length]));
    const answersAreExact = async () => {
      const stats = await t.http.get(`/telemetry/stats?metric=temp&from=${iso(START)}&to=${iso(END)}`);
      expect(stats.status).toBe(200);
      expect(stats.body).toEqual(expectedStats(stored, START, END));
      const agg = await t.http.get(`/telemetry/aggregate?metric=temp&interval=1h&from=${iso(START)}&to=${iso(END)}`);
      expect(agg.status).toBe(200);
      expect(agg.body.buckets).toEqual(expectedBuckets(stored, 3600, START, END));
    };
    /** Minutes spread across the hour starting at `hour`: far more than a flush writes deltas for. */
    const across = (hour: number, n: number, offset: number) => Array.from({ length: n }, (_, i) => hour + Math.floor((i * HOUR) / n) + offset);
    return { t, devs, stored, sendNow, sendQueued, pending, hourCounts, expectedHourCounts, answersAreExact, across };
  }

  it('catches up the hours a backfill wrote in the worker, without a query, and the answers stay exact', async () => {
    const s = await setup();
    await s.sendNow(s.devs[0], [0, 1, 2, 3].flatMap((k) => [START + k * HOUR + 60_000, START + k * HOUR + 30 * 60_000]), 1);
    await s.answersAreExact();
    expect(await s.pending()).toBe(0);

    // A backfill of hours 1 and 2 through the queue: the worker's flush writes a delta per value.
    await s.sendQueued(s.devs[1], [...s.across(START + HOUR, 40, 777), ...s.across(START + 2 * HOUR, 40, 555)], 2);
    // Read beside the rollups while they wait (or once merged): exact either way.
    await s.answersAreExact();
    await waitFor(s.pending, (n) => n === 0, { what: 'the catch-up job to take the deltas' });
    expect(await s.hourCounts()).toEqual(s.expectedHourCounts());
    await s.answersAreExact();
  });

  it('catches up a backfill written while a catch-up is running, in a job of its own', async () => {
    const s = await setup();
    await s.sendNow(s.devs[0], [0, 1, 2, 3].flatMap((k) => [START + k * HOUR + 60_000, START + k * HOUR + 30 * 60_000]), 3);
    await s.answersAreExact();

    // Hold the project's rollup lock, so the job for the first backfill waits for it after
    // it has read which hours are marked.
    const holder = await db.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock($1, $2)`, [ADVISORY_LOCKS.projectRollups, s.t.projectId]);
      await s.sendNow(s.devs[1], s.across(START, 30, 123), 4);
      await waitFor(
        async () =>
          Number(
            (
              await db.query(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = $2 AND objsubid = 2`, [
                ADVISORY_LOCKS.projectRollups,
                s.t.projectId,
              ])
            ).rows[0].count,
          ),
        (n) => n > 0,
        { what: 'the catch-up job to wait for the project lock' },
      );
      // Meanwhile a second backfill of another hour.
      await s.sendNow(s.devs[1], s.across(START + 3 * HOUR, 30, 321), 5);
      expect(await s.pending()).toBe(60);
    } finally {
      await holder.query(`SELECT pg_advisory_unlock($1, $2)`, [ADVISORY_LOCKS.projectRollups, s.t.projectId]).catch(() => undefined);
      holder.release();
    }
    await waitFor(s.pending, (n) => n === 0, { what: 'both backfills to be caught up' });
    expect(await s.hourCounts()).toEqual(s.expectedHourCounts());
    await s.answersAreExact();
  });

  it('catches up a backfill that arrives over several seconds once, after it, not once per second', async () => {
    const s = await setup();
    await s.sendNow(s.devs[0], [0, 1, 2, 3].flatMap((k) => [START + k * HOUR + 60_000, START + k * HOUR + 30 * 60_000]), 6);
    await s.answersAreExact();
    const catchUps = async () => {
      const metric = await scrapeMetrics(app);
      const count = (outcome: string) => metric(`watchpost_rollup_catch_ups_total{outcome="${outcome}"}`, 0);
      return { yielded: count('yielded'), caughtUp: count('caught_up') };
    };
    const before = await catchUps();
    // A backfill of hour 1 in batches 250 ms apart for 3.5 s: its flushes fall in 3–4 windows.
    for (let n = 0; n < 14; n++) {
      await s.sendQueued(s.devs[1], s.across(START + HOUR, 10, 1_000 + n), 7 + n);
      await new Promise((r) => setTimeout(r, 250));
    }
    await waitFor(s.pending, (n) => n === 0, { what: 'the backfill to be caught up' });
    await waitFor(catchUps, (c) => c.caughtUp > before.caughtUp, { what: 'the catch-up to be counted' });
    const after = await catchUps();
    // The jobs of the windows the backfill was still arriving in left the work to the last.
    expect(after.yielded - before.yielded).toBeGreaterThanOrEqual(1);
    expect(await s.hourCounts()).toEqual(s.expectedHourCounts());
    await s.answersAreExact();
  });
});
