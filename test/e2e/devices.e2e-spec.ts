import type { Client } from 'pg';
import { RunningApp, startApp } from '../support/app';
import { connectDb } from '../support/db';
import { expectError, fieldsOf } from '../support/errors';
import type { HttpResponse } from '../support/http';
import { createDevice, createTenant, Tenant } from '../support/tenant';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('devices', () => {
  let app: RunningApp;
  let db: Client;
  let tenant: Tenant;

  beforeAll(async () => {
    app = await startApp();
    db = await connectDb();
    tenant = await createTenant(app);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  const devices = (t: Tenant = tenant) => `/projects/${t.projectId}/devices`;
  const device = (id: number, t: Tenant = tenant) => `${devices(t)}/${id}`;
  const tags = (id: number, t: Tenant = tenant) => `${device(id, t)}/tags`;
  const storedTags = async (id: number): Promise<string[]> => (await db.query('SELECT tags FROM devices WHERE id = $1', [id])).rows[0].tags;

  describe('create', () => {
    it('answers 201 with the documented fields and stores the device', async () => {
      const res = await tenant.http.post(devices(), { external_id: 'sensor-01', name: 'Boiler room', tags: ['floor-1', 'boiler'] });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        project_id: tenant.projectId,
        external_id: 'sensor-01',
        name: 'Boiler room',
        tags: ['floor-1', 'boiler'],
        created_at: expect.stringMatching(ISO_UTC),
        last_seen_at: null,
      });
      const stored = await db.query('SELECT project_id::int AS project_id, external_id, name, tags FROM devices WHERE id = $1', [res.body.id]);
      expect(stored.rows).toEqual([{ project_id: tenant.projectId, external_id: 'sensor-01', name: 'Boiler room', tags: ['floor-1', 'boiler'] }]);
    });

    it('creates a device without tags with an empty tag list', async () => {
      const res = await tenant.http.post(devices(), { external_id: 'no-tags', name: 'Bare' });
      expect(res.status).toBe(201);
      expect(res.body.tags).toEqual([]);
    });

    it('trims tags, drops repeats and keeps the order given', async () => {
      const res = await tenant.http.post(devices(), {
        external_id: 'tagged',
        name: 'Tagged',
        tags: [' zone-b', 'zone-a ', 'zone-b', '  zone-c  ', 'zone-a', '   '],
      });
      expect(res.status).toBe(201);
      expect(res.body.tags).toEqual(['zone-b', 'zone-a', 'zone-c']);
      expect(await storedTags(res.body.id)).toEqual(['zone-b', 'zone-a', 'zone-c']);
    });

    it('refuses a second device with the same external_id in the project with a 400', async () => {
      await createDevice(tenant, { external_id: 'dup-1', name: 'First' });
      const again = await tenant.http.post(devices(), { external_id: 'dup-1', name: 'Second' });
      const error = expectError(again, 400);
      expect(error.message).toContain('dup-1');
      // Surrounding blanks are not a different external_id.
      expectError(await tenant.http.post(devices(), { external_id: '  dup-1 ', name: 'Third' }), 400);
      const stored = await db.query('SELECT name FROM devices WHERE project_id = $1 AND external_id = $2', [tenant.projectId, 'dup-1']);
      expect(stored.rows).toEqual([{ name: 'First' }]);
    });

    it('allows the same external_id in another project', async () => {
      await createDevice(tenant, { external_id: 'shared-id', name: 'Mine' });
      const other = await createTenant(app);
      const res = await other.http.post(devices(other), { external_id: 'shared-id', name: 'Theirs' });
      expect(res.status).toBe(201);
      expect(res.body.project_id).toBe(other.projectId);
    });
  });

  describe('read and delete', () => {
    it('gets a device by id', async () => {
      const created = (await tenant.http.post(devices(), { external_id: 'get-me', name: 'Get me', tags: ['a'] })).body;
      const res = await tenant.http.get(device(created.id));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(created);
    });

    it('answers 404 for a device that does not exist', async () => {
      expectError(await tenant.http.get(device(999_999_999)), 404, 'DEVICE.NOT_FOUND');
    });

    it('deletes a device: 204, then 404 on get and on a second delete', async () => {
      const created = await createDevice(tenant);
      const del = await tenant.http.delete(device(created.id));
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      expectError(await tenant.http.get(device(created.id)), 404, 'DEVICE.NOT_FOUND');
      expectError(await tenant.http.delete(device(created.id)), 404, 'DEVICE.NOT_FOUND');
      expect((await db.query('SELECT 1 FROM devices WHERE id = $1', [created.id])).rowCount).toBe(0);
      const listed = (await tenant.http.get(`${devices()}?limit=1000`)).body.map((d: { id: number }) => d.id);
      expect(listed).not.toContain(created.id);
      // The external_id is free again.
      expect((await tenant.http.post(devices(), { external_id: created.external_id, name: 'Reborn' })).status).toBe(201);
    });
  });

  describe('list', () => {
    let t: Tenant;
    let made: { id: number; external_id: string }[];

    beforeAll(async () => {
      t = await createTenant(app);
      made = [];
      for (let i = 0; i < 5; i++) made.push(await createDevice(t, { external_id: `list-${i}`, tags: i % 2 ? ['odd', `n${i}`] : ['even'] }));
    });

    it('lists the project’s devices newest first as a plain array', async () => {
      const res = await t.http.get(devices(t));
      expect(res.status).toBe(200);
      expect(res.body.map((d: { external_id: string }) => d.external_id)).toEqual(['list-4', 'list-3', 'list-2', 'list-1', 'list-0']);
      expect(res.headers.get('x-next-cursor')).toBeNull();
      for (const d of res.body) expect(d.project_id).toBe(t.projectId);
    });

    it('pages with limit and X-Next-Cursor', async () => {
      const seen: number[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const res: HttpResponse = await t.http.get(`${devices(t)}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        sizes.push(res.body.length);
        seen.push(...res.body.map((d: { id: number }) => d.id));
        cursor = res.headers.get('x-next-cursor');
      } while (cursor && sizes.length < 10);
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen).toEqual(made.map((d) => d.id).reverse());
    });

    it('filters by tag', async () => {
      const odd = await t.http.get(`${devices(t)}?tag=odd`);
      expect(odd.status).toBe(200);
      expect(odd.body.map((d: { external_id: string }) => d.external_id)).toEqual(['list-3', 'list-1']);
      const one = await t.http.get(`${devices(t)}?tag=n3`);
      expect(one.body.map((d: { external_id: string }) => d.external_id)).toEqual(['list-3']);
      expect((await t.http.get(`${devices(t)}?tag=missing`)).body).toEqual([]);
      const paged = await t.http.get(`${devices(t)}?tag=even&limit=2`);
      expect(paged.body.map((d: { external_id: string }) => d.external_id)).toEqual(['list-4', 'list-2']);
      const rest = await t.http.get(`${devices(t)}?tag=even&limit=2&cursor=${encodeURIComponent(paged.headers.get('x-next-cursor')!)}`);
      expect(rest.body.map((d: { external_id: string }) => d.external_id)).toEqual(['list-0']);
    });

    it('refuses a tag filter longer than a tag can be', async () => {
      expect(fieldsOf(expectError(await t.http.get(`${devices(t)}?tag=${'x'.repeat(65)}`), 422))).toEqual(['tag']);
    });
  });

  describe('tags', () => {
    it('PATCH replaces the tags, normalised, and answers {device_id, tags}', async () => {
      const d = await createDevice(tenant, { tags: ['old-1', 'old-2'] });
      const res = await tenant.http.patch(tags(d.id), { tags: [' new-b ', 'new-a', 'new-b'] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ device_id: d.id, tags: ['new-b', 'new-a'] });
      expect(await storedTags(d.id)).toEqual(['new-b', 'new-a']);
      expect((await tenant.http.get(device(d.id))).body.tags).toEqual(['new-b', 'new-a']);
    });

    it('PATCH with an empty list clears the tags', async () => {
      const d = await createDevice(tenant, { tags: ['a', 'b'] });
      const res = await tenant.http.patch(tags(d.id), { tags: [] });
      expect(res.body).toEqual({ device_id: d.id, tags: [] });
      expect(await storedTags(d.id)).toEqual([]);
    });

    it('POST appends only the new tags, in the order given', async () => {
      const d = await createDevice(tenant, { tags: ['a', 'b'] });
      const res = await tenant.http.post(tags(d.id), { tags: ['d', 'b', ' c ', 'd', 'a', 'e'] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ device_id: d.id, tags: ['a', 'b', 'd', 'c', 'e'] });
      expect(await storedTags(d.id)).toEqual(['a', 'b', 'd', 'c', 'e']);
      const again = await tenant.http.post(tags(d.id), { tags: ['e', 'a'] });
      expect(again.body).toEqual({ device_id: d.id, tags: ['a', 'b', 'd', 'c', 'e'] });
    });

    it('POST adds to a device that had no tags', async () => {
      const d = await createDevice(tenant);
      expect((await tenant.http.post(tags(d.id), { tags: ['first', 'second'] })).body).toEqual({ device_id: d.id, tags: ['first', 'second'] });
    });

    it('DELETE removes the given tags and keeps the order of the rest', async () => {
      const d = await createDevice(tenant, { tags: ['a', 'b', 'c', 'd', 'e'] });
      const res = await tenant.http.delete(tags(d.id), { tags: ['d', ' b', 'not-there'] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ device_id: d.id, tags: ['a', 'c', 'e'] });
      expect(await storedTags(d.id)).toEqual(['a', 'c', 'e']);
      expect((await tenant.http.delete(tags(d.id), { tags: ['a', 'c', 'e'] })).body).toEqual({ device_id: d.id, tags: [] });
    });

    it('the tag routes answer 404 for a device that does not exist', async () => {
      expectError(await tenant.http.patch(tags(999_999_999), { tags: ['x'] }), 404, 'DEVICE.NOT_FOUND');
      expectError(await tenant.http.post(tags(999_999_999), { tags: ['x'] }), 404, 'DEVICE.NOT_FOUND');
      expectError(await tenant.http.delete(tags(999_999_999), { tags: ['x'] }), 404, 'DEVICE.NOT_FOUND');
    });

    it('the tag routes need a tags array', async () => {
      const d = await createDevice(tenant, { tags: ['keep'] });
      for (const body of [{}, { tags: 'keep' }, { tags: [1] }, { tags: ['x'.repeat(65)] }]) {
        expect(fieldsOf(expectError(await tenant.http.patch(tags(d.id), body), 422))).toEqual(['tags']);
      }
      expect(fieldsOf(expectError(await tenant.http.post(tags(d.id), {}), 422))).toEqual(['tags']);
      expect(fieldsOf(expectError(await tenant.http.delete(tags(d.id), {}), 422))).toEqual(['tags']);
      expect(await storedTags(d.id)).toEqual(['keep']);
    });
  });
});
