import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Pool } from 'pg';
import { RunningApp, scrapeMetrics, startApp } from '../support/app';
import { expectError } from '../support/errors';
import { createDevice, createTenant, Tenant } from '../support/tenant';
import { countReadings, Event, openDb, waitFor } from '../support/telemetry';

/**
 * The low-priority lanes (docs/lanes.md): with LOW_PRIORITY_LANES on, an api or worker
 * process runs a child process of its own at a lower CPU priority, the api's for large
 * POST /telemetry bodies, the worker's for the bulk ingest queue. A lane is seen at work by
 * stopping it (SIGSTOP): what it takes waits, what it does not take goes on. The rest of the
 * suite runs without lanes (test-env.ts); this suite is where they are held.
 */

const START = Date.parse('2026-02-01T00:00:00Z');
const LARGE = 2_000; // readings of three keys: over LOW_PRIORITY_BODY_BYTES (64 KB) and over the bulk queue's weight (5,000)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PENDING = 'still pending';
const within = <T>(p: Promise<T>, ms: number): Promise<T | typeof PENDING> => Promise.race([p, sleep(ms).then((): typeof PENDING => PENDING)]);

/** The lanes of process `pid`, by kind, from their environment (LANE=api|worker). */
function lanesOf(pid: number): Record<string, number> {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim();
  const lanes: Record<string, number> = {};
  for (const child of out.split(/\s+/).filter(Boolean).map(Number)) {
    const lane = /(?:^|\0)LANE=(\w+)/.exec(readFileSync(`/proc/${child}/environ`, 'utf8'))?.[1];
    if (lane) lanes[lane] = child;
  }
  return lanes;
}

/** Fields of /proc/<pid>/task/<tid>/stat for every thread of `pid`, numbered as proc(5) does (from 1). */
function threadStat(pid: number, field: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // After "pid (comm) ", whose comm may hold spaces, the fields from 3 on.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3]);
  });
}

/** The nice values of every thread of `pid` (from /proc: `ps` shows none for an idle-class thread). */
const threadNices = (pid: number) => threadStat(pid, 19);
/** The scheduling policy of every thread of `pid`: 0 the normal class, 5 SCHED_IDLE. */
const threadPolicies = (pid: number) => threadStat(pid, 41);
const [NORMAL, IDLE] = [0, 5];

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('low-priority lanes for large batches', () => {
  let app: RunningApp;
  let db: Pool;
  let tenant: Tenant;
  let device: { id: number; external_id: string };
  let batchNo = 0;

  const large = () => {
    const n = batchNo++;
    const events: Event[] = Array.from({ length: LARGE }, (_, i) => ({
      ts: new Date(START + (n * LARGE + i) * 1000).toISOString(),
      data: { t: i, h: n, v: 1 },
      event_id: `large-${n}-${i}`,
    }));
    return { device_external_id: device.external_id, events };
  };
  const small = (id: string) => ({ device_external_id: device.external_id, events: [{ ts: new Date(START - 1000).toISOString(), data: { t: 1 }, event_id: id }] });
  const laneReady = async (lane: string) => (await scrapeMetrics(app))(`watchpost_lane_ready{lane="${lane}"}`, 0) === 1;
  const bothReady = () => waitFor(async () => (await laneReady('api')) && (await laneReady('worker')), (ok) => ok, { timeoutMs: 60_000, intervalMs: 200, what: 'both lanes ready' });
  const stored = () => countReadings(db, { deviceId: device.id });

  beforeAll(async () => {
    app = await startApp({ LOW_PRIORITY_LANES: 'true', LOW_PRIORITY_NICE: '15' });
    db = openDb();
    tenant = await createTenant(app);
    device = await createDevice(tenant);
    await bothReady();
  }, 120_000);
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  it('runs an api lane and a worker lane, every thread at the configured nice and in the idle scheduling class', () => {
    const lanes = lanesOf(app.proc.proc.pid!);
    expect(Object.keys(lanes).sort()).toEqual(['api', 'worker']);
    for (const pid of Object.values(lanes)) {
      expect(new Set(threadNices(pid))).toEqual(new Set([15]));
      expect(new Set(threadPolicies(pid))).toEqual(new Set([IDLE]));
    }
    expect(new Set(threadNices(app.proc.proc.pid!))).toEqual(new Set([0]));
    expect(new Set(threadPolicies(app.proc.proc.pid!))).toEqual(new Set([NORMAL]));
  });

  it('starts each lane as a session of its own, with its own CPU share at the lane nice where the kernel groups by session', () => {
    const parent = app.proc.proc.pid!;
    const sessionOf = (pid: number) => Number(execFileSync('ps', ['-o', 'sid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    const lanes = Object.values(lanesOf(parent));
    for (const pid of lanes) {
      expect(sessionOf(pid)).toBe(pid);
      expect(sessionOf(pid)).not.toBe(sessionOf(parent));
    }
    // Autogroups (docs/lanes.md): the parent's session keeps its share for the api's own work.
    if (existsSync(`/proc/${parent}/autogroup`) && readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1') {
      for (const pid of lanes) expect(readFileSync(`/proc/${pid}/autogroup`, 'utf8')).toMatch(/ nice 15\s*$/);
      expect(readFileSync(`/proc/${parent}/autogroup`, 'utf8')).not.toBe(readFileSync(`/proc/${lanes[0]}/autogroup`, 'utf8'));
    }
  });

  it(
    'takes a large body in the api lane: stopped, it holds the large POST while small ones are answered',
    async () => {
      const { api } = lanesOf(app.proc.proc.pid!);
      const before = await stored();
      process.kill(api, 'SIGSTOP');
      let largePost: ReturnType<typeof tenant.http.post>;
      try {
        largePost = tenant.http.post('/telemetry', large());
        expect(await within(largePost, 1_500)).toBe(PENDING);
        const answer = await tenant.http.post('/telemetry', small('small-while-api-lane-stopped'));
        expect(answer.status).toBe(202);
      } finally {
        process.kill(api, 'SIGCONT');
      }
      const res = await largePost;
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ queued: LARGE, rejected: [] });
      await waitFor(stored, (n) => n === before + LARGE + 1, { timeoutMs: 60_000, what: 'the large and the small batch stored' });
      // The lane's counters are part of its parent's /metrics.
      const metric = await scrapeMetrics(app);
      expect(metric('watchpost_readings_accepted_total')).toBe(LARGE + 1);
    },
    120_000,
  );

  it('runs the lanes’ Postgres backends at the lane nice, the api’s and worker’s at the database’s (Postgres on this machine, with the right to)', async () => {
    const { rows } = await db.query<{ pid: number; name: string }>(
      `SELECT pid, application_name AS name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'watchpost-%'`,
    );
    const lane = rows.filter((r) => r.name.endsWith('-lane'));
    const own = rows.filter((r) => !r.name.endsWith('-lane'));
    // The large batch above was written by the worker lane, on its own connections.
    expect(lane.map((r) => r.name)).toContain('watchpost-worker-lane');
    expect(own.length).toBeGreaterThan(0);
    if (process.getuid?.() !== 0) return; // without the right, the backends keep the database's priority (docs/lanes.md)
    for (const r of lane) expect(threadNices(r.pid)).toEqual([15]);
    for (const r of own) expect(threadNices(r.pid)).toEqual([0]);
    // The lanes' backends stay in the normal class: they hold locks and buffers that others wait for (docs/lanes.md).
    for (const r of rows) expect(threadPolicies(r.pid)).toEqual([NORMAL]);
    if (existsSync(`/proc/${lane[0].pid}/autogroup`)) {
      for (const r of lane) expect(readFileSync(`/proc/${r.pid}/autogroup`, 'utf8')).toMatch(/ nice 15\s*$/);
    }
  });

  it(
    'answers the lane’s refusals as its own: a large batch with a poison event has it rejected by field, the rest queued',
    async () => {
      const before = await stored();
      const body = large();
      body.events[7].data = { t: 'a\u0000b' };
      const res = await tenant.http.post('/telemetry', body);
      expect(res.status).toBe(202);
      expect(res.body.queued).toBe(LARGE - 1);
      expect(res.body.rejected).toEqual([expect.objectContaining({ index: 7, field: 'events[7].data.t' })]);
      // The rest is stored (and the lane idle again before the next test stops it).
      await waitFor(stored, (n) => n === before + LARGE - 1, { timeoutMs: 60_000, what: 'the rest of the batch stored' });
      // A request the api refuses never reaches the lane, and no process reads its body.
      const bytesRead = async () => (await scrapeMetrics(app))('watchpost_http_body_bytes_read_total');
      const read = await bytesRead();
      const refused = await tenant.http.post('/telemetry', large(), { 'X-API-Key': 'deadbeef.not-a-key' });
      expect(refused.status).toBe(403);
      expect(await bytesRead()).toBe(read);
    },
    60_000,
  );

  it(
    'takes the bulk queue in the worker lane: stopped, large batches wait while small ones are stored',
    async () => {
      const { worker } = lanesOf(app.proc.proc.pid!);
      const before = await stored();
      process.kill(worker, 'SIGSTOP');
      try {
        expect((await tenant.http.post('/telemetry', large())).status).toBe(202);
        expect((await tenant.http.post('/telemetry', small('small-while-worker-lane-stopped'))).status).toBe(202);
        await waitFor(stored, (n) => n === before + 1, { timeoutMs: 30_000, what: 'the small batch stored' });
        await sleep(1_500);
        expect(await stored()).toBe(before + 1);
      } finally {
        process.kill(worker, 'SIGCONT');
      }
      await waitFor(stored, (n) => n === before + 1 + LARGE, { timeoutMs: 60_000, what: 'the large batch stored by the lane' });
    },
    120_000,
  );

  it(
    'evaluates a heavy project’s devices in the worker lane: stopped, their alert waits while a light project’s opens',
    async () => {
      const heavy = await createTenant(app);
      const light = await createTenant(app);
      const rule = (t: Tenant, window_n: number) =>
        t.http.post(`/projects/${t.projectId}/rules`, { name: 'hot', metric: 'v', operator: '>', threshold: 100, window_n, required_k: 1, cooldown_seconds: 0 });
      expect((await rule(heavy, 5_000)).status).toBe(201);
      expect((await rule(light, 1)).status).toBe(201);
      const [hd, ld] = [await createDevice(heavy), await createDevice(light)];
      const post = (t: Tenant, d: { external_id: string }, events: Event[]) => t.http.post('/telemetry', { device_external_id: d.external_id, events });
      const reading = (id: string, v: number, at: number): Event => ({ ts: new Date(at).toISOString(), data: { v }, event_id: id });
      const alerts = async (t: Tenant, d: { id: number }) => ((await t.http.get(`/devices/${d.id}/alerts`)).body as unknown[]).length;

      // The light project is evaluated first, then the heavy one counts 1 condition over 5,000
      // readings (work 10,001, fair-queueing.ts), thousands of times the light one's: heavy.
      expect((await post(light, ld, [reading('l0', 1, START)])).status).toBe(202);
      await waitFor(() => countReadings(db, { deviceId: ld.id }), (n) => n === 1, { what: 'the light reading' });
      await sleep(500);
      expect((await post(heavy, hd, Array.from({ length: 5_000 }, (_, i) => reading(`h${i}`, 1, START + i * 1000)))).status).toBe(202);
      await waitFor(() => countReadings(db, { deviceId: hd.id }), (n) => n === 5_000, { timeoutMs: 60_000, what: 'the heavy window' });
      await sleep(2_000); // its evaluation, which finds it heavy

      const { worker } = lanesOf(app.proc.proc.pid!);
      process.kill(worker, 'SIGSTOP');
      try {
        expect((await post(heavy, hd, [reading('h-hot', 1000, START + 6_000_000)])).status).toBe(202);
        expect((await post(light, ld, [reading('l-hot', 1000, START + 6_000_000)])).status).toBe(202);
        await waitFor(() => alerts(light, ld), (n) => n === 1, { timeoutMs: 30_000, what: 'the light project’s alert' });
        // Longer than the heavy evaluation is held back (twice its cost, tens of ms here).
        await sleep(3_000);
        expect(await alerts(heavy, hd)).toBe(0);
      } finally {
        process.kill(worker, 'SIGCONT');
      }
      await waitFor(() => alerts(heavy, hd), (n) => n === 1, { timeoutMs: 60_000, what: 'the heavy project’s alert, from the lane' });
    },
    180_000,
  );

  it(
    'does a dead lane’s work in its parent until the lane is back, then leaves it to the lane again',
    async () => {
      const old = lanesOf(app.proc.proc.pid!);
      process.kill(old.api, 'SIGKILL');
      process.kill(old.worker, 'SIGKILL');
      await waitFor(async () => (await laneReady('api')) || (await laneReady('worker')), (up) => !up, { timeoutMs: 10_000, intervalMs: 20, what: 'lanes seen gone' });

      // Meanwhile the parent takes a large batch and writes it itself.
      const before = await stored();
      const res = await tenant.http.post('/telemetry', large());
      expect(res.status).toBe(202);
      await waitFor(stored, (n) => n === before + LARGE, { timeoutMs: 60_000, what: 'a large batch stored without lanes' });

      // Both come back as new processes, at the same priority.
      await bothReady();
      const now = lanesOf(app.proc.proc.pid!);
      expect(now.api).not.toBe(old.api);
      expect(now.worker).not.toBe(old.worker);
      for (const pid of Object.values(now)) expect(new Set(threadNices(pid))).toEqual(new Set([15]));
      const after = await stored();
      expect((await tenant.http.post('/telemetry', large())).status).toBe(202);
      await waitFor(stored, (n) => n === after + LARGE, { timeoutMs: 60_000, what: 'a large batch stored by the new lanes' });
    },
    180_000,
  );

  it(
    'replaces a lane that stops answering: a request it held is answered 503 with Retry-After, not left hanging',
    async () => {
      const other = await startApp({ LOW_PRIORITY_LANES: 'true', LOW_PRIORITY_LANE_TIMEOUT_MS: '2000' });
      try {
        const t = await createTenant(other);
        const d = await createDevice(t);
        const ready = async () => {
          const m = await scrapeMetrics(other);
          return m('watchpost_lane_ready{lane="api"}', 0) === 1 && m('watchpost_lane_ready{lane="worker"}', 0) === 1;
        };
        await waitFor(ready, (ok) => ok, { timeoutMs: 60_000, intervalMs: 200, what: 'both lanes ready' });
        const old = lanesOf(other.proc.proc.pid!);
        process.kill(old.api, 'SIGSTOP');
        process.kill(old.worker, 'SIGSTOP');
        // Forwarded to the stopped api lane before its parent gives up on it.
        const held = await t.http.post('/telemetry', { ...large(), device_external_id: d.external_id });
        expectError(held, 503, 'TELEMETRY.UNAVAILABLE');
        expect(held.headers.get('retry-after')).not.toBeNull();
        // Both were killed (a stopped process too) and come back as new processes at nice 15.
        await waitFor(async () => [old.api, old.worker].filter(alive).length, (n) => n === 0, { timeoutMs: 20_000, intervalMs: 100, what: 'the hung lanes killed' });
        await waitFor(ready, (ok) => ok, { timeoutMs: 60_000, intervalMs: 200, what: 'both lanes back' });
        const now = lanesOf(other.proc.proc.pid!);
        expect(now.api).not.toBe(old.api);
        expect(now.worker).not.toBe(old.worker);
        for (const pid of Object.values(now)) expect(new Set(threadNices(pid))).toEqual(new Set([15]));
        // The client's retry of the refused batch is taken and stored.
        const retried = await t.http.post('/telemetry', { ...large(), device_external_id: d.external_id });
        expect(retried.status).toBe(202);
        await waitFor(() => countReadings(db, { deviceId: d.id }), (n) => n === LARGE, { timeoutMs: 60_000, what: 'the retried batch stored' });
      } finally {
        await other.close();
      }
    },
    180_000,
  );

  it(
    'stops with its parent: a parent killed outright leaves no lane behind',
    async () => {
      const other = await startApp({ LOW_PRIORITY_LANES: 'true' });
      try {
        await waitFor(async () => Object.keys(lanesOf(other.proc.proc.pid!)).length, (n) => n === 2, { timeoutMs: 60_000, intervalMs: 200, what: 'two lanes' });
        const lanes = Object.values(lanesOf(other.proc.proc.pid!));
        await other.proc.stop('SIGKILL');
        await waitFor(async () => lanes.filter(alive).length, (n) => n === 0, { timeoutMs: 60_000, intervalMs: 100, what: 'the lanes to exit' });
      } finally {
        await other.close();
      }
    },
    150_000,
  );
});
