import { backoffDelay, openStream, SseEvent, SseParser, StreamState } from './sse';

describe('SSE parser', () => {
  it('parses events, skipping comments and heartbeats', () => {
    const p = new SseParser();
    expect(p.push(': connected\n\nevent: alert.triggered\ndata: {"id":1}\n\n: heartbeat\n\n')).toEqual([{ event: 'alert.triggered', data: '{"id":1}', id: null }]);
  });

  it('joins events split across chunks anywhere, including inside CRLF', () => {
    const p = new SseParser();
    const text = 'event: alert.resolved\r\ndata: {"id":2}\r\nid: 9\r\n\r\n';
    const out: SseEvent[] = [];
    for (const ch of text) out.push(...p.push(ch));
    expect(out).toEqual([{ event: 'alert.resolved', data: '{"id":2}', id: '9' }]);
  });

  it('joins multi-line data, defaults the event name, accepts CR-only lines and a field without a colon', () => {
    const p = new SseParser();
    expect(p.push('data: a\rdata:b\rdata\r\r')).toEqual([{ event: 'message', data: 'a\nb\n', id: null }]);
  });

  it('ignores an event without data', () => {
    expect(new SseParser().push('event: x\n\n')).toEqual([]);
  });
});

describe('reconnect backoff', () => {
  it('doubles from 0.5 s to at most 30 s, with ±20 % jitter', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10, 50].map((n) => backoffDelay(n, mid))).toEqual([500, 1000, 2000, 4000, 30000, 30000]);
    expect(backoffDelay(0, () => 0)).toBe(400);
    expect(backoffDelay(0, () => 1)).toBe(600);
  });
});

describe('openStream', () => {
  const streamOf = (chunks: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
        c.close();
      },
    });

  it('delivers events, reconnects when the stream ends, and stops on request', async () => {
    const states: StreamState[] = [];
    const events: SseEvent[] = [];
    const timers: (() => void)[] = [];
    const calls: RequestInit[] = [];
    const fetchFn = async (_url: string, init: RequestInit = {}) => {
      calls.push(init);
      return new Response(streamOf(['event: alert.triggered\ndata: {"id":1}\n', '\n']), { status: 200 });
    };
    const s = openStream({
      url: '/alerts/stream',
      headers: () => ({ 'X-API-Key': 'k' }),
      onEvent: (e) => events.push(e),
      onState: (st) => states.push(st),
      onAuthError: () => undefined,
      fetchFn,
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => undefined,
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual([{ event: 'alert.triggered', data: '{"id":1}', id: null }]);
    expect(states).toEqual(['connecting', 'open', 'disconnected']);
    expect((calls[0].headers as Record<string, string>)['X-API-Key']).toBe('k');
    expect(timers).toHaveLength(1);
    timers[0]();
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toHaveLength(2);
    s.stop();
    expect(states[states.length - 1]).toBe('stopped');
  });

  it('does not retry a 401/403: it reports it for sign-out', async () => {
    const timers: (() => void)[] = [];
    const auth: number[] = [];
    openStream({
      url: '/alerts/stream',
      headers: () => ({}),
      onEvent: () => undefined,
      onState: () => undefined,
      onAuthError: (status) => auth.push(status),
      fetchFn: async () => new Response(JSON.stringify({ error: { message: 'invalid or revoked API key' } }), { status: 403 }),
      setTimer: (fn) => timers.push(fn),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(auth).toEqual([403]);
    expect(timers).toHaveLength(0);
  });

  it('retries after a network error and a 429', async () => {
    const timers: (() => void)[] = [];
    const responses = [() => Promise.reject(new TypeError('Failed to fetch')), () => Promise.resolve(new Response('{}', { status: 429 }))];
    const details: (string | undefined)[] = [];
    openStream({
      url: '/alerts/stream',
      headers: () => ({}),
      onEvent: () => undefined,
      onState: (st, d) => st === 'disconnected' && details.push(d?.error),
      onAuthError: () => undefined,
      fetchFn: () => responses.shift()!(),
      setTimer: (fn) => timers.push(fn),
    });
    await new Promise((r) => setTimeout(r, 20));
    timers[0]();
    await new Promise((r) => setTimeout(r, 20));
    expect(details).toEqual(['Failed to fetch', 'HTTP 429']);
    expect(timers).toHaveLength(2);
  });
});
