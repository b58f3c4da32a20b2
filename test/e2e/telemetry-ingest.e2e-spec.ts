import type { Pool } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { createDevice, createKey, createTenant, Tenant } from '../support/tenant';
import { countReadings, Event, openDb, waitFor, waitForReadings } from '../support/telemetry';

/** The old system's ingestion cases, over HTTP against the queued write path (ROLE=all). */
describe('POST /telemetry', () => {
  let app: RunningApp;
  let db: Pool;
  let t: Tenant;

  beforeAll(async () => {
    app = await startApp();
    db = openDb();
    t = await createTenant(app);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  const post = (tenant: Tenant, deviceExternalId: string, events: unknown[]) =>
    tenant.http.post('/telemetry', { device_external_id: deviceExternalId, events });

  const events = (n: number): Event[] =>
    Array.from({ length: n }, (_, i) => ({ ts: 1767600000 + i, data: { v: i } }));

  it('queues one event with 202 and then serves it from the read API', async () => {
    const device = await createDevice(t);
    const res = await post(t, device.external_id, [{ ts: '2026-01-05T10:00:00Z', data: { temperature: 95.0 }, event_id: 'evt-1' }]);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ queued: 1, device_id: device.id, rejected: [] });

    const latest = await waitFor(
      () => t.http.get(`/telemetry/devices/${device.id}/latest`),
      (r) => r.status === 200,
      { what: 'the reading to be readable' },
    );
    expect(latest.body).toEqual({
      id: expect.any(Number),
      device_id: device.id,
      event_id: 'evt-1',
      ts: '2026-01-05T10:00:00.000Z',
      received_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      payload: { temperature: 95 },
    });
    const list = await t.http.get(`/telemetry/devices/${device.id}/telemetry`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([latest.body]);
  });

  it('answers 401 without a key', async () => {
    const device = await createDevice(t);
    const res = await app.http.post('/telemetry', { device_external_id: device.external_id, events: events(1) });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toEqual(expect.any(String));
  });

  it('answers 403 to a malformed, an unknown or a wrong key, in either header', async () => {
    const device = await createDevice(t);
    const body = { device_external_id: device.external_id, events: events(1) };
    const [prefix] = t.key.split('.');
    const badKeys = ['not-a-key', `deadbeef.${'A'.repeat(43)}`, `${prefix}.${'B'.repeat(43)}`];
    for (const key of badKeys) {
      expect((await app.http.post('/telemetry', body, { 'X-API-Key': key })).status).toBe(403);
      expect((await app.http.post('/telemetry', body, { Authorization: `Bearer ${key}` })).status).toBe(403);
    }
    expect(await countReadings(db, { deviceId: device.id })).toBe(0);
  });

  it('refuses a read-only key with 403, while it may read', async () => {
    const device = await createDevice(t);
    const { api_key } = await createKey(app, t.projectId, ['read']);
    const readOnly = app.http.with({ 'X-API-Key': api_key });
    const res = await readOnly.post('/telemetry', { device_external_id: device.external_id, events: events(1) });
    expect(res.status).toBe(403);
    expect((await readOnly.get(`/telemetry/devices/${device.id}/telemetry`)).status).toBe(200);
  });

  it('accepts a key with only the ingest scope', async () => {
    const device = await createDevice(t);
    const { api_key } = await createKey(app, t.projectId, ['ingest']);
    const ingestOnly = app.http.with({ 'X-API-Key': api_key });
    const res = await ingestOnly.post('/telemetry', { device_external_id: device.external_id, events: events(1) });
    expect(res.status).toBe(202);
    expect((await ingestOnly.get(`/telemetry/devices/${device.id}/telemetry`)).status).toBe(403);
  });

  it('refuses an empty batch with 400 "events cannot be empty", before looking the device up', async () => {
    const device = await createDevice(t);
    for (const externalId of [device.external_id, 'no-such-device']) {
      const res = await post(t, externalId, []);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe('events cannot be empty');
    }
  });

  it('refuses 5001 events with 400 "too many events (max 5000)", before looking the device up', async () => {
    const device = await createDevice(t);
    for (const externalId of [device.external_id, 'no-such-device']) {
      const res = await post(t, externalId, events(5001));
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe('too many events (max 5000)');
    }
    expect(await countReadings(db, { deviceId: device.id })).toBe(0);
  });

  it('takes exactly 5000 events', async () => {
    const device = await createDevice(t);
    const res = await post(t, device.external_id, events(5000));
    expect(res.status).toBe(202);
    expect(res.body.queued).toBe(5000);
    await waitForReadings(db, device.id, 5000);
  });

  it('answers 404 "device not found" for an unknown device, and never creates one', async () => {
    const res = await post(t, 'never-registered', events(1));
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe('device not found');
    const devices = await t.http.get(`/projects/${t.projectId}/devices`);
    expect(devices.body.map((d: { external_id: string }) => d.external_id)).not.toContain('never-registered');
  });

  it('answers 422 naming the field when the envelope is malformed', async () => {
    const device = await createDevice(t);
    const noId = await t.http.post('/telemetry', { events: events(1) });
    expect(noId.status).toBe(422);
    expect(noId.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'device_external_id' })]));
    const notArray = await t.http.post('/telemetry', { device_external_id: device.external_id, events: { ts: 1, data: {} } });
    expect(notArray.status).toBe(422);
    expect(notArray.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'events' })]));
  });

  it('stores two events and returns them newest first', async () => {
    const device = await createDevice(t);
    const res = await post(t, device.external_id, [
      { ts: '2026-01-05T10:00:00Z', data: { v: 1 }, event_id: 'older' },
      { ts: '2026-01-05T10:00:05Z', data: { v: 2 }, event_id: 'newer' },
    ]);
    expect(res.status).toBe(202);
    expect(res.body.queued).toBe(2);
    await waitForReadings(db, device.id, 2);
    const list = await t.http.get(`/telemetry/devices/${device.id}/telemetry`);
    expect(list.body.map((r: { event_id: string; ts: string }) => [r.event_id, r.ts])).toEqual([
      ['newer', '2026-01-05T10:00:05.000Z'],
      ['older', '2026-01-05T10:00:00.000Z'],
    ]);
  });

  it('rejects malformed events one by one (index, field, error) and stores the valid ones', async () => {
    const device = await createDevice(t);
    const res = await post(t, device.external_id, [
      { ts: '2026-01-05T10:00:00Z', data: { v: 1 }, event_id: 'good-0' },
      { ts: 'not a time', data: { v: 2 } },
      { ts: '2026-01-05T10:00:02Z', data: 'not an object' },
      { data: { v: 3 } },
      { ts: '2026-01-05T10:00:04Z', data: { v: 4 }, event_id: 'good-4' },
      42,
    ]);
    expect(res.status).toBe(202);
    expect(res.body.queued).toBe(2);
    expect(res.body.rejected).toEqual([
      { index: 1, field: 'events[1].ts', error: expect.stringMatching(/\S/) },
      { index: 2, field: 'events[2].data', error: expect.stringMatching(/\S/) },
      { index: 3, field: 'events[3].ts', error: 'ts is required' },
      { index: 5, field: 'events[5]', error: expect.stringMatching(/\S/) },
    ]);
    await waitForReadings(db, device.id, 2);
    const list = await t.http.get(`/telemetry/devices/${device.id}/telemetry`);
    expect(list.body.map((r: { event_id: string }) => r.event_id)).toEqual(['good-4', 'good-0']);
  });

  it('answers 422 when every event is invalid, listing each, and stores nothing', async () => {
    const device = await createDevice(t);
    const res = await post(t, device.external_id, [{ ts: 'nope', data: {} }, { ts: 1767600000 }]);
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      { field: 'events[0].ts', message: expect.any(String) },
      { field: 'events[1].data', message: expect.any(String) },
    ]);
    const later = await post(t, device.external_id, [{ ts: 1767600000, data: { v: 1 }, event_id: 'marker' }]);
    expect(later.status).toBe(202);
    await waitForReadings(db, device.id, 1);
    const list = await t.http.get(`/telemetry/devices/${device.id}/telemetry`);
    expect(list.body.map((r: { event_id: string }) => r.event_id)).toEqual(['marker']);
  });

  it("answers 404 for another project's device, as for a missing one, and stores nothing there", async () => {
    const other = await createTenant(app);
    const theirs = await createDevice(other, { external_id: `theirs-${Date.now()}` });
    const res = await post(t, theirs.external_id, events(1));
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe('device not found');
    expect((await t.http.get(`/telemetry/devices/${theirs.id}/telemetry`)).status).toBe(404);
    expect((await t.http.get(`/telemetry/devices/${theirs.id}/latest`)).status).toBe(404);
    expect(await countReadings(db, { deviceId: theirs.id })).toBe(0);
  });

  it("sets the device's last_seen_at to the time its reading arrived", async () => {
    const device = await createDevice(t);
    const before = await t.http.get(`/projects/${t.projectId}/devices/${device.id}`);
    expect(before.body.last_seen_at).toBeNull();

    expect((await post(t, device.external_id, [{ ts: '2020-01-01T00:00:00Z', data: { v: 1 } }])).status).toBe(202);
    const after = await waitFor(
      () => t.http.get(`/projects/${t.projectId}/devices/${device.id}`),
      (r) => r.body.last_seen_at !== null,
      { what: 'last_seen_at to be set' },
    );
    const reading = (await t.http.get(`/telemetry/devices/${device.id}/latest`)).body;
    // Server time of arrival, not the reading's own (old) event time.
    expect(after.body.last_seen_at).toBe(reading.received_at);
    expect(after.body.last_seen_at).not.toBe('2020-01-01T00:00:00.000Z');
  });
});
