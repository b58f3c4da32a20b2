import { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import type { HttpClient } from '../support/http';
import { createDevice, createTenant } from '../support/tenant';
import { waitFor } from '../support/telemetry';

const DAY = 86_400_000;

describe('reading partitions and retention', () => {
  let db: Client;
  beforeAll(async () => {
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(() => db.end());

  async function partitions(): Promise<string[]> {
    const { rows } = await db.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'readings' ORDER BY 1`,
    );
    return rows.map((r) => r.relname);
  }

  const dayName = (t: number) => `readings_p${new Date(t).toISOString().slice(0, 10).replace(/-/g, '')}`;

  it('keeps daily partitions ready ahead of today and drops whole old days when RETENTION_DAYS is set', async () => {
    let app: RunningApp = await startApp();
    const old = Date.now() - 5 * DAY;
    /** Project-wide stats of `t` around the old reading: they read rollups. */
    const oldStats = async (http: HttpClient) =>
      (await http.get(`/telemetry/stats?metric=t&from=${new Date(old - 2 * 3600_000).toISOString()}&to=${new Date(old + 2 * 3600_000).toISOString()}`)).body;
    let key = '';
    let deviceId = 0;
    try {
      const tenant = await createTenant(app);
      key = tenant.key;
      const device = await createDevice(tenant);
      deviceId = device.id;
      const now = Date.now();
      // Today and the next week are prepared as partitions by the migration and the worker.
      const names = await partitions();
      for (let d = 0; d <= 7; d++) expect(names).toContain(dayName(now + d * DAY));
      expect(names).toContain('readings_default');

      const events = [
        { ts: new Date(old).toISOString(), data: { t: 1 }, event_id: 'old' },
        { ts: new Date(now).toISOString(), data: { t: 2 }, event_id: 'recent' },
      ];
      const res = await tenant.http.post('/telemetry?wait=true', { device_external_id: device.external_id, events });
      expect(res.status).toBe(201);
      // A day with no partition yet lands in the default partition; preparing that day later
      // moves its rows into the new partition.
      await db.query(`SELECT ensure_readings_partition(($1::timestamptz AT TIME ZONE 'UTC')::date)`, [new Date(old)]);
      expect(await partitions()).toContain(dayName(old));
      const moved = await db.query(`SELECT tableoid::regclass::text AS part FROM readings WHERE device_id = $1 AND event_id = 'old'`, [device.id]);
      expect(moved.rows).toEqual([{ part: dayName(old) }]);
      expect(await oldStats(tenant.http)).toMatchObject({ count: 1, max: 1 });
      expect(Number((await db.query('SELECT count(*) FROM metric_rollups WHERE project_id = $1', [tenant.projectId])).rows[0].count)).toBeGreaterThan(0);
    } finally {
      await app.close();
    }

    // A worker started with a 3-day retention drops the old day at once, and only it.
    app = await startApp({ RETENTION_DAYS: '3' });
    try {
      const deadline = Date.now() + 20_000;
      while ((await partitions()).includes(dayName(Date.now() - 5 * DAY)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await partitions()).not.toContain(dayName(Date.now() - 5 * DAY));
      // This device's readings only: other suites of the run share the database.
      const left = await db.query(`SELECT event_id FROM readings WHERE device_id = $1 ORDER BY 1`, [deviceId]);
      expect(left.rows.map((r) => r.event_id)).toEqual(['recent']);
      // The rollups that counted the dropped reading go with it.
      // (The worker forgets them just after the drop, so look until it has.)
      const http = app.http.with({ 'X-API-Key': key });
      expect(await waitFor(() => oldStats(http), (s) => s.count === 0, { what: 'stats without the dropped reading' })).toMatchObject({ max: null });
    } finally {
      await app.close();
    }
  });
});
