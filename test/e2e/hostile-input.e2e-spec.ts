import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Pool } from 'pg';
import { RunningApp, scrapeMetrics, startApp } from '../support/app';
import { expectError, fieldsOf } from '../support/errors';
import { countReadings, openDb, waitFor, waitForReadings } from '../support/telemetry';
import { createDevice, createTenant, Tenant } from '../support/tenant';

/** Hostile and careless clients (docs/hostile-input.md): every case answered, nothing poisoned. */

const QUOTA = 50;
const STREAMS = 20;
let clock = Date.UTC(2026, 10, 1);
const nextTs = () => new Date((clock += 1000)).toISOString();

/** `depth` levels of nested objects, the innermost holding a number. */
function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { v: 1 };
  for (let i = 1; i < depth; i++) v = { n: v };
  return v;
}

async function bodyBytesRead(app: RunningApp): Promise<number> {
  return (await scrapeMetrics(app))('watchpost_http_body_bytes_read_total');
}

/** An alert stream held open on a raw socket, so the test decides how it ends. */
function openStream(app: RunningApp, key: string): Promise<{ status: number; destroy: () => void; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${app.url}/alerts/stream`, { headers: { 'X-API-Key': key } }, (res) => {
      let ended!: () => void;
      const endedP = new Promise<void>((r) => (ended = r));
      res.on('data', () => undefined);
      res.on('end', () => ended());
      res.on('error', () => ended());
      res.on('close', () => ended());
      resolve({ status: res.statusCode ?? 0, destroy: () => req.destroy(), ended: endedP });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hostile input', () => {
  let app: RunningApp;
  let db: Pool;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    app = await startApp({ RATE_LIMIT_READINGS_PER_MINUTE: String(QUOTA), SSE_MAX_STREAMS_PER_KEY: String(STREAMS) });
    db = openDb();
    a = await createTenant(app);
    b = await createTenant(app);
  });
  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  describe('a poison event is rejected on its own, the rest of its batch is taken', () => {
    const poisons: [string, string, string][] = [
      // [what, the poison event's data as raw JSON, the field named]
      ['NUL in a string', '{"note": "a\\u0000b"}', 'events[1].data.note'],
      ['NUL in a key', '{"a\\u0000b": 1}', 'events[1].data["a\\u0000b"]'],
      ['a lone surrogate', '{"note": "x\\ud800y"}', 'events[1].data.note'],
      ['a lone surrogate deep down', '{"list": [1, {"s": "\\udc00"}]}', 'events[1].data.list[1].s'],
      ['a non-finite number', '{"temperature": 1e999}', 'events[1].data.temperature'],
      ['nesting past 32 levels', JSON.stringify(nested(33)), 'events[1].data'],
      ['more than 10,000 keys', JSON.stringify(Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, i]))), 'events[1].data'],
    ];

    it.each(poisons)('%s: 202 naming it, the good reading stored (queued and wait=true)', async (_what, poison, field) => {
      const device = await createDevice(a);
      const raw = (good: string) =>
        `{"device_external_id": ${JSON.stringify(device.external_id)}, "events": [` +
        `{"ts": "${nextTs()}", "data": {"temperature": ${good}}}, {"ts": "${nextTs()}", "data": ${poison}}]}`;

      const queued = await a.http.post('/telemetry', raw('21.5'));
      expect(queued.status).toBe(202);
      expect(queued.body.queued).toBe(1);
      expect(queued.body.rejected).toEqual([{ index: 1, field, error: expect.any(String) }]);
      await waitForReadings(db, device.id, 1);

      const waited = await a.http.post('/telemetry?wait=true', raw('22.5'));
      expect(waited.status).toBe(201);
      expect(waited.body.stored).toBe(1);
      expect(waited.body.rejected).toEqual([{ index: 1, field, error: expect.any(String) }]);
      const { rows } = await db.query(`SELECT payload FROM readings WHERE device_id = $1 ORDER BY ts`, [device.id]);
      expect(rows.map((r) => r.payload)).toEqual([{ temperature: 21.5 }, { temperature: 22.5 }]);
    });

    it('takes data at the limits: 32 levels and 10,000 keys', async () => {
      const device = await createDevice(a);
      // 10,000 keys in all (one of them holding the rest); how fast wide events are stored is
      // the writer's business, not this test's.
      const wide = { wide: Object.fromEntries(Array.from({ length: 9_998 }, (_, i) => [`k${i}`, 's'])), last: 1 };
      const res = await a.http.post('/telemetry?wait=true', {
        device_external_id: device.external_id,
        events: [
          { ts: nextTs(), data: nested(32) },
          { ts: nextTs(), data: wide },
        ],
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ stored: 2, rejected: [] });
    }, 60_000);

    it('a batch of nothing but poison is a 422 naming each event, and deep nesting is no 500', async () => {
      const device = await createDevice(a);
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const raw = `{"device_external_id": "${device.external_id}", "events": [{"ts": "${nextTs()}", "data": {"d": ${deep}}}, {"ts": "${nextTs()}", "data": {"s": "\\ud800"}}]}`;
      for (const path of ['/telemetry', '/telemetry?wait=true']) {
        const error = expectError(await a.http.post(path, raw), 422, 'TELEMETRY.NO_VALID_EVENTS');
        expect(fieldsOf(error)).toEqual(['events[0].data', 'events[1].data.s']);
      }
      expect(await countReadings(db, { deviceId: device.id })).toBe(0);
    });

    it('lone surrogates are refused, not rewritten: distinct event ids stay distinct', async () => {
      const device = await createDevice(a);
      const raw = (id: string) => `{"device_external_id": "${device.external_id}", "events": [{"ts": "${nextTs()}", "data": {"v": 1}, "event_id": "${id}"}]}`;
      for (const id of ['e\\ud800', 'e\\ud801', 'e\\u0000']) {
        expect(fieldsOf(expectError(await a.http.post('/telemetry', raw(id)), 422))).toEqual(['events[0].event_id']);
      }
      expect(fieldsOf(expectError(await a.http.post('/telemetry', { device_external_id: 'x\ud800', events: [{ ts: nextTs(), data: {} }] }), 422))).toEqual(['device_external_id']);
    });

    it('refuses times outside 1970–3000 in every form', async () => {
      const device = await createDevice(a);
      for (const ts of ['9999-01-01T00:00:00Z', '3000-01-01T00:00:00.000Z', '3500-06-01T00:00:00+02:00', '1969-12-31T23:59:59Z', '9999-01-01', 32_503_680_001, -1]) {
        const res = await a.http.post('/telemetry', { device_external_id: device.external_id, events: [{ ts, data: { v: 1 } }] });
        expect(fieldsOf(expectError(res, 422))).toEqual(['events[0].ts']);
      }
      expect(fieldsOf(expectError(await a.http.get(`/telemetry/devices/${device.id}/telemetry?from=9999-01-01T00:00:00Z`), 422))).toEqual(['from']);
    });
  });

  describe('every other string and number of the API', () => {
    const devices = () => `/projects/${a.projectId}/devices`;

    it('NUL or a lone surrogate in a device is a 422 naming the field, never a 500', async () => {
      const cases: [unknown, string][] = [
        [{ external_id: 'nul\u0000', name: 'x' }, 'external_id'],
        [{ external_id: 'ok-1', name: 'n\u0000' }, 'name'],
        [{ external_id: 'ok-2', name: 'x', tags: ['fine', 't\u0000'] }, 'tags[1]'],
        [{ external_id: 'z\ud800', name: 'x' }, 'external_id'],
      ];
      for (const [body, field] of cases) expect(fieldsOf(expectError(await a.http.post(devices(), body), 422))).toEqual([field]);
      const d = await createDevice(a);
      expect(fieldsOf(expectError(await a.http.patch(`${devices()}/${d.id}/tags`, { tags: ['\udfff'] }), 422))).toEqual(['tags[0]']);
      expect(fieldsOf(expectError(await a.http.get(`${devices()}?tag=a%00b`), 422))).toEqual(['tag']);
    });

    it('non-finite numbers and lone surrogates elsewhere: rules and webhooks', async () => {
      const rule = `{"name": "r", "metric": "t", "operator": ">", "threshold": 1e999, "window_n": 1, "required_k": 1}`;
      expect(fieldsOf(expectError(await a.http.post(`/projects/${a.projectId}/rules`, rule), 422))).toEqual(['threshold']);
      const named = { name: 'r\ud800', metric: 't', operator: '>', threshold: 1, window_n: 1, required_k: 1 };
      expect(fieldsOf(expectError(await a.http.post(`/projects/${a.projectId}/rules`, named), 422))).toEqual(['name']);
      const hook = await a.http.post(`/projects/${a.projectId}/webhooks`, { url: 'http://127.0.0.1:9/x\u0000' });
      expect(fieldsOf(expectError(hook, 422))).toEqual(['url']);
    });

    it('a body nested past 32 levels is a 422, not a crash', async () => {
      const raw = `{"external_id": "deep", "name": "x", "extra": ${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
      expect(fieldsOf(expectError(await a.http.post(devices(), raw), 422))).toEqual(['body']);
    });
  });

  describe('ids within 1…2^63−1, in paths, query strings and bodies', () => {
    it('answers 422 to ids past bigint, and 404 to ids in range that do not exist', async () => {
      const device = await createDevice(a);
      const rule = await a.http.post(`/projects/${a.projectId}/rules`, { name: 'r', metric: 't', operator: '>', threshold: 1, window_n: 1, required_k: 1, scope: 'EXPLICIT' });
      expect(rule.status).toBe(201);
      for (const bad of ['99999999999999999999', '9223372036854775808']) {
        expect(fieldsOf(expectError(await a.http.get(`/projects/${a.projectId}/alerts?device_id=${bad}`), 422))).toEqual(['device_id']);
        expect(fieldsOf(expectError(await a.http.get(`/projects/${a.projectId}/alerts?rule_id=${bad}`), 422))).toEqual(['rule_id']);
        expect(fieldsOf(expectError(await a.http.get(`/telemetry/stats?metric=t&window=1h&device_id=${bad}`), 422))).toEqual(['device_id']);
        expect(fieldsOf(expectError(await a.http.get(`/alerts/stream?device_id=${bad}`), 422))).toEqual(['device_id']);
        expect(fieldsOf(expectError(await a.http.get(`/projects/${a.projectId}/devices/${bad}`), 422))).toEqual(['deviceId']);
        expect(fieldsOf(expectError(await a.http.get(`/rules/${bad}`), 422))).toEqual(['ruleId']);
        const body = `{"device_ids": [${device.id}, ${bad}]}`;
        expect(fieldsOf(expectError(await a.http.post(`/rules/${rule.body.id}/devices`, body), 422))).toEqual(['device_ids']);
      }
      const top = '9223372036854775807';
      expectError(await a.http.get(`/projects/${a.projectId}/devices/${top}`), 404, 'DEVICE.NOT_FOUND');
      expectError(await a.http.get(`/projects/${a.projectId}/alerts?device_id=${top}`), 404, 'DEVICE.NOT_FOUND');
      expectError(await a.http.get(`/rules/${top}`), 404, 'RULE.NOT_FOUND');
      expectError(await a.http.post(`/rules/${rule.body.id}/devices`, `{"device_ids": ["${top}"]}`), 404, 'DEVICE.NOT_FOUND');
      expect((await a.http.post(`/rules/${rule.body.id}/devices`, { device_ids: [device.id] })).status).toBe(204);
    });
  });

  describe('foreign ids in list filters', () => {
    it('are 404, as everywhere else', async () => {
      const own = await createDevice(a);
      const foreign = await createDevice(b);
      const foreignRule = await b.http.post(`/projects/${b.projectId}/rules`, { name: 'r', metric: 't', operator: '>', threshold: 1, window_n: 1, required_k: 1 });
      expect(foreignRule.status).toBe(201);
      expectError(await a.http.get(`/projects/${a.projectId}/alerts?device_id=${foreign.id}`), 404, 'DEVICE.NOT_FOUND');
      expectError(await a.http.get(`/projects/${a.projectId}/alerts?rule_id=${foreignRule.body.id}`), 404, 'RULE.NOT_FOUND');
      expectError(await a.http.get(`/telemetry/aggregate?metric=t&device_id=${foreign.id}`), 404, 'DEVICE.NOT_FOUND');
      const ok = await a.http.get(`/projects/${a.projectId}/alerts?device_id=${own.id}`);
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual([]);
    });
  });

  describe('credentials before bodies', () => {
    it('does not inflate or parse the gzip bodies of requests without a valid key', async () => {
      const device = await createDevice(a);
      const json = JSON.stringify({ device_external_id: device.external_id, events: [{ ts: nextTs(), data: { pad: 'x'.repeat(5_000_000) } }] });
      const gz = gzipSync(json);
      const send = (headers: Record<string, string>) =>
        fetch(`${app.url}/telemetry`, { method: 'POST', body: gz, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers } });

      const before = await bodyBytesRead(app);
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, () => send({})),
        ...Array.from({ length: 20 }, () => send({ 'X-API-Key': 'deadbeef.not-a-real-key-at-all-0000000000000000000' })),
        send({ 'X-Admin-Token': 'wrong-admin-token-000000' }),
      ]);
      expect(answers.map((r) => r.status).sort()).toEqual([...Array(21).fill(401), ...Array(20).fill(403)].sort());
      expect(await bodyBytesRead(app)).toBe(before);

      // The same body with a valid key is read (and counted): the metric would see the others.
      const taken = await send({ 'X-API-Key': a.key });
      expect(taken.status).toBe(202);
      expect(await bodyBytesRead(app)).toBeGreaterThanOrEqual(before + json.length);
    });

    it('keeps MAX_BODY_BYTES: an oversized body with a valid key is 413', async () => {
      const big = JSON.stringify({ device_external_id: 'x', events: [{ ts: nextTs(), data: { pad: 'x'.repeat(11 * 1024 * 1024) } }] });
      expectError(await a.http.post('/telemetry', big), 413, 'REQUEST.TOO_LARGE');
    });
  });

  describe('quotas', () => {
    it(`RATE_LIMIT_READINGS_PER_MINUTE: a batch that would pass it is 429 with Retry-After, none of it taken; another project unaffected`, async () => {
      const c = await createTenant(app);
      const device = await createDevice(c);
      const other = await createDevice(b);
      const batch = (id: string, n: number) => ({ device_external_id: id, events: Array.from({ length: n }, () => ({ ts: nextTs(), data: { v: 1 } })) });
      // Quotas count in minute windows: start well inside one, so the steps below share it.
      const intoMinute = Date.now() % 60_000;
      if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
      const first = await c.http.post('/telemetry', batch(device.external_id, 30));
      expect(first.status).toBe(202);
      const over = await c.http.post('/telemetry', batch(device.external_id, QUOTA - 30 + 1));
      const error = expectError(over, 429, 'RATE_LIMIT.READINGS_QUOTA');
      expect(error.message).toMatch(/readings per minute/);
      const retryAfter = Number(over.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expectError(await c.http.post('/telemetry?wait=true', batch(device.external_id, QUOTA)), 429);
      // What still fits is taken.
      expect((await c.http.post('/telemetry', batch(device.external_id, QUOTA - 30))).status).toBe(202);

      // Project b has its own minute.
      const theirs = await b.http.post('/telemetry?wait=true', batch(other.external_id, 40));
      expect(theirs.status).toBe(201);
      expect(theirs.body.stored).toBe(40);
      await waitForReadings(db, device.id, QUOTA);
    });

    it(`SSE_MAX_STREAMS_PER_KEY: one more stream is 429; a closed or vanished client frees its slot at once; another key unaffected`, async () => {
      const streams = await Promise.all(Array.from({ length: STREAMS }, () => openStream(app, a.key)));
      expect(streams.map((s) => s.status)).toEqual(Array(STREAMS).fill(200));
      const refused = await a.http.get('/alerts/stream');
      expectError(refused, 429, 'RATE_LIMIT.STREAMS');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

      const theirs = await openStream(app, b.key);
      expect(theirs.status).toBe(200);
      theirs.destroy();

      // A client that vanishes (its socket destroyed) frees its slot: the next stream opens.
      streams[0].destroy();
      const replacement = await waitFor(
        () => openStream(app, a.key),
        (s) => s.status === 200 || (s.destroy(), false),
        { timeoutMs: 5_000, what: 'a freed stream slot' },
      );
      expectError(await a.http.get('/alerts/stream'), 429);
      for (const s of [...streams.slice(1), replacement]) s.destroy();
      await waitFor(
        () => openStream(app, a.key),
        (s) => (s.destroy(), s.status === 200),
        { timeoutMs: 5_000, what: 'slots freed after all streams closed' },
      );
    });
  });

  describe('afterwards', () => {
    it('the process stayed up through all of it', async () => {
      expect(app.proc.proc.exitCode).toBeNull();
      expect((await app.http.get('/health')).status).toBe(200);
    });
  });
});
