/**
 * Server-Sent Events over fetch: EventSource cannot send the key header, so the console reads
 * /alerts/stream with a stream reader and parses the events itself (the WHATWG format:
 * `event:`/`data:`/`id:` lines, comments starting with `:`, a blank line ends an event, any of
 * CRLF, LF or CR ends a line).
 */

export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export class SseParser {
  private buffer = '';
  private pendingCR = false;
  private event = '';
  private data: string[] = [];
  private id: string | null = null;
  private hasData = false;

  /** Feeds a decoded chunk; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    // A CR at the end of the last chunk may be the first half of a CRLF.
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1);
    this.pendingCR = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCR = true;
        else if (this.buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.hasData) out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      this.event = '';
      this.data = [];
      this.hasData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/** Delay before reconnect attempt `n` (0-based): 0.5 s doubling to 30 s, with ±20 % jitter. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export type StreamState = 'connecting' | 'open' | 'disconnected' | 'stopped';

export interface StreamOptions {
  url: string;
  headers: () => Record<string, string>;
  onEvent: (e: SseEvent) => void;
  onState: (state: StreamState, detail?: { retryInMs?: number; error?: string }) => void;
  /** A 401/403: not retried; the caller signs out. */
  onAuthError: (status: number, body: unknown) => void;
  fetchFn?: (input: string, init?: RequestInit) => Promise<Response>;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

/**
 * Keeps one stream open: on any end or error it reconnects after `backoffDelay`, and the
 * attempt count resets once a connection has delivered its first bytes. `stop()` ends it.
 */
export function openStream(opts: StreamOptions): { stop(): void } {
  const fetchFn = opts.fetchFn ?? ((i, init) => fetch(i, init));
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  let stopped = false;
  let attempt = 0;
  let timer: unknown = null;
  let controller: AbortController | null = null;

  const retry = (error: string) => {
    if (stopped) return;
    const ms = backoffDelay(attempt++);
    opts.onState('disconnected', { retryInMs: ms, error });
    timer = setTimer(connect, ms);
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    timer = null;
    controller = new AbortController();
    opts.onState('connecting');
    let res: Response;
    try {
      res = await fetchFn(opts.url, { headers: { ...opts.headers(), Accept: 'text/event-stream' }, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
    } catch (err) {
      return retry((err as Error)?.message ?? 'network error');
    }
    if (res.status === 401 || res.status === 403) {
      stopped = true;
      let body: unknown = null;
      try {
        body = await res.json();
      } catch {
        /* not JSON */
      }
      opts.onState('stopped');
      opts.onAuthError(res.status, body);
      return;
    }
    if (!res.ok || !res.body) {
      res.body?.cancel().catch(() => undefined);
      return retry(`HTTP ${res.status}`);
    }
    opts.onState('open');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        attempt = 0;
        for (const e of parser.push(decoder.decode(value, { stream: true }))) opts.onEvent(e);
      }
      retry('the server ended the stream');
    } catch (err) {
      retry((err as Error)?.message ?? 'stream error');
    }
  }

  void connect();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimer(timer);
      controller?.abort();
      opts.onState('stopped');
    },
  };
}
