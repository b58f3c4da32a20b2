import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { once } from 'node:events';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
}

/** How the receiver answers one request: a status, optional headers, body and delay. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
  /** The answer's body ('{}' when left out). */
  body?: string | Buffer;
}

/**
 * A subscriber's endpoint: a real local HTTP server. Each path answers from its own script of
 * replies (the last one repeats), so a test can make one endpoint fail and another succeed.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, Reply[]>();
  private server: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const path = req.url ?? '/';
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        this.received.push({ path, headers: req.headers, body, json, at: Date.now() });
        const script = this.scripts.get(path) ?? [];
        const reply = (script.length > 1 ? script.shift() : script[0]) ?? { status: 200 };
        setTimeout(() => {
          res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
          res.end(reply.body ?? '{}');
        }, reply.delayMs ?? 0);
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  /** Sets what `path` answers from now on, in order; the last reply repeats. */
  script(path: string, ...replies: Reply[]): string {
    this.scripts.set(path, replies);
    return this.url + path;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async waitFor(path: string, count: number, timeoutMs = 20_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const got = this.at(path);
      if (got.length >= count) return got;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`${path}: expected ${count} requests, got ${this.at(path).length}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/** Polls `probe` until `accept` holds, or fails with the last value seen. */
export async function eventually<T>(probe: () => Promise<T>, accept: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await probe();
  }
  return last;
}
