import { ApiClient, ApiError, buildUrl, Credentials, fieldErrors, parseSession, toApiError } from './api';

interface Call {
  url: string;
  init: RequestInit;
}

function fakeFetch(...responses: Response[]) {
  const calls: Call[] = [];
  const fn = async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    const r = responses.shift();
    if (!r) throw new Error('no response scripted');
    return r;
  };
  return { fn, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const creds: Credentials = { apiKey: '0123abcd.' + 'x'.repeat(43), projectId: 7, adminToken: 'admin-secret' };

describe('console API client', () => {
  it('sends the key as a header, never in the URL', async () => {
    const f = fakeFetch(json(200, [{ id: 1 }]));
    const api = new ApiClient(() => creds, f.fn);
    await api.get(api.project('/devices'), { limit: 5, tag: '', cursor: null });
    expect(f.calls[0].url).toBe('/projects/7/devices?limit=5');
    expect(f.calls[0].url).not.toContain(creds.apiKey);
    expect((f.calls[0].init.headers as Record<string, string>)['X-API-Key']).toBe(creds.apiKey);
    expect((f.calls[0].init.headers as Record<string, string>)['X-Admin-Token']).toBeUndefined();
    expect(f.calls[0].init.credentials).toBe('omit');
  });

  it('sends the admin token instead for admin calls', async () => {
    const f = fakeFetch(json(201, { id: 3, name: 'o' }));
    const api = new ApiClient(() => creds, f.fn);
    await api.post('/orgs', { name: 'o' }, true);
    const h = f.calls[0].init.headers as Record<string, string>;
    expect(h['X-Admin-Token']).toBe('admin-secret');
    expect(h['X-API-Key']).toBeUndefined();
    expect(h['Content-Type']).toBe('application/json');
    expect(f.calls[0].init.body).toBe('{"name":"o"}');
  });

  it('pages with X-Next-Cursor until it is gone', async () => {
    const f = fakeFetch(json(200, [{ id: 3 }, { id: 2 }], { 'X-Next-Cursor': 'abc' }), json(200, [{ id: 1 }]));
    const api = new ApiClient(() => creds, f.fn);
    const seen: number[] = [];
    const all = await api.all<{ id: number }>('/projects/7/alerts', { status: 'open' }, (items) => seen.push(items.length));
    expect(all.map((a) => a.id)).toEqual([3, 2, 1]);
    expect(seen).toEqual([2, 3]);
    expect(f.calls[1].url).toBe('/projects/7/alerts?status=open&cursor=abc');
  });

  it('can read a small first page, then large ones', async () => {
    const f = fakeFetch(json(200, [{ id: 3 }], { 'X-Next-Cursor': 'c1' }), json(200, [{ id: 2 }, { id: 1 }]));
    const api = new ApiClient(() => creds, f.fn);
    await api.all('/projects/7/devices', { limit: 1000 }, undefined, Infinity, { firstLimit: 100 });
    expect(f.calls.map((c) => c.url)).toEqual(['/projects/7/devices?limit=100', '/projects/7/devices?limit=1000&cursor=c1']);
  });

  it("keeps the API's error code, message, field details and request id", async () => {
    const body = { error: { code: 'REQUEST.VALIDATION_FAILED', message: 'window_n must not be less than 1', details: [{ field: 'window_n', message: 'window_n must not be less than 1' }] }, request_id: 'r-1' };
    const f = fakeFetch(json(422, body));
    const api = new ApiClient(() => creds, f.fn);
    const err = await api.post('/projects/7/rules', {}).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: 'REQUEST.VALIDATION_FAILED', requestId: 'r-1' });
    expect(err.problems).toEqual([{ field: 'window_n', message: 'window_n must not be less than 1' }]);
  });

  it('reports 401 and 403 to the sign-out hook, other errors not', async () => {
    const told: ApiError[] = [];
    const f = fakeFetch(json(403, { error: { code: 'AUTH.API_KEY_INVALID', message: 'invalid or revoked API key' } }), json(404, { error: { code: 'X.NOT_FOUND', message: 'nope' } }));
    const api = new ApiClient(() => creds, f.fn, (e) => told.push(e));
    await expect(api.get('/a')).rejects.toMatchObject({ status: 403 });
    await expect(api.get('/b')).rejects.toMatchObject({ status: 404 });
    expect(told.map((e) => e.message)).toEqual(['invalid or revoked API key']);
  });

  it('turns a network failure and a non-JSON error into ApiErrors', async () => {
    const api = new ApiClient(() => creds, async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(api.get('/x')).rejects.toMatchObject({ status: 0, code: 'CONSOLE.NETWORK' });
    expect(toApiError(502, '<html>bad gateway</html>')).toMatchObject({ status: 502, code: 'HTTP.502', message: 'HTTP 502: <html>bad gateway</html>' });
  });

  it('builds URLs leaving out empty values and encoding the rest', () => {
    expect(buildUrl('/p', { a: 'x y', b: undefined, c: '', d: 0, e: false })).toBe('/p?a=x+y&d=0&e=false');
    expect(buildUrl('/p')).toBe('/p');
  });

  it('maps field problems onto the fields a form has, the rest above it', () => {
    const err = new ApiError(422, 'V', 'm', [
      { field: 'threshold', message: 'threshold must be a number' },
      { field: 'threshold', message: 'threshold is required' },
      { field: 'matchers.tags[0]', message: 'tag too long' },
      { field: 'body', message: 'body must be a JSON object' },
    ]);
    expect(fieldErrors(err, ['threshold', 'matchers'])).toEqual({
      threshold: 'threshold must be a number; threshold is required',
      matchers: 'tag too long',
      '': 'body must be a JSON object',
    });
    expect(fieldErrors(new ApiError(400, 'RULE.K_GT_N', 'required_k exceeds window_n'), ['required_k'])).toEqual({ '': 'required_k exceeds window_n' });
    // A 400 whose details name one field: its message goes beside that field.
    expect(fieldErrors(new ApiError(400, 'RULE.K_EXCEEDS_N', 'required_k must not exceed window_n', { field: 'required_k' }), ['required_k'])).toEqual({ required_k: 'required_k must not exceed window_n' });
    expect(fieldErrors(new ApiError(400, 'X', 'shown above', { field: 'elsewhere' }), ['required_k'])).toEqual({ '': 'shown above' });
    expect(fieldErrors(null, [])).toEqual({});
    // The most specific field the form shows: the whole path, its last segment, its first.
    const nested = new ApiError(422, 'V', 'm', [
      { field: 'recurrence.timezone', message: 'unknown time zone' },
      { field: 'recurrence.days[1]', message: 'unknown day' },
      { field: 'recurrence', message: 'recurrence must be an object' },
      { field: 'matchers.tags[0]', message: 'tag too long' },
    ]);
    expect(fieldErrors(nested, ['recurrence', 'timezone', 'days', 'tags'])).toEqual({ timezone: 'unknown time zone', days: 'unknown day', recurrence: 'recurrence must be an object', tags: 'tag too long' });
  });

  it('reads the session the API gives for a key, and nothing else', () => {
    expect(parseSession({ project_id: 7, prefix: '0123abcd', scopes: ['read', 'write'] })).toEqual({ project_id: 7, prefix: '0123abcd', scopes: ['read', 'write'] });
    expect(parseSession({ project_id: '7', prefix: '0123abcd', scopes: [] })).toBeNull();
    expect(parseSession({ project_id: 0, prefix: '0123abcd', scopes: [] })).toBeNull();
    expect(parseSession({ project_id: 7, scopes: [] })).toBeNull();
    expect(parseSession({ project_id: 7, prefix: 'x', scopes: 'read' })).toBeNull();
    expect(parseSession('<html>')).toBeNull();
    expect(parseSession(null)).toBeNull();
  });
});
