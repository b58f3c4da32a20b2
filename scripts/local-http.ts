/**
 * HTTP plumbing shared by the scripts (demo, webhook sink, benchmarks) and the tests that use
 * the same clients: local receivers and the alert stream's Server-Sent Events.
 */
import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request's whole body as UTF-8. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Listens on a free port of 127.0.0.1; resolves with the server's base URL. */
export async function listenLocal(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One block of a text/event-stream: its event type (`message` if it names none), data and comments. */
export interface SseBlock {
  type: string;
  /** The data lines joined by newlines; null for a block without data (comments only). */
  data: string | null;
  comments: string[];
}

function parseSseBlock(block: string): SseBlock {
  let type = 'message';
  const data: string[] = [];
  const comments: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  return { type, data: data.length ? data.join('\n') : null, comments };
}

/** Reads a text/event-stream body to its end, handing each block to `onBlock`. */
export async function readSse(body: ReadableStream<Uint8Array>, onBlock: (block: SseBlock) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      onBlock(parseSseBlock(buffer.slice(0, end)));
      buffer = buffer.slice(end + 2);
    }
  }
}
