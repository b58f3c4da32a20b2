import type { Readable } from 'node:stream';

/**
 * Most of an answer's body that is read (and thrown away): subscribers owe us only a status,
 * which decides the outcome whatever follows it. A body that ends within this is read to its
 * end, so the connection can be kept; a longer one (or one still coming at the timeout) is cut
 * off with its connection.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Reads `stream` to its end if that comes within `maxBytes` and `withinMs`, else cuts it off;
 * never rejects (the answer's status was decided already).
 */
export function readAtMost(stream: Readable, maxBytes: number, withinMs: number): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    const done = (cut: boolean) => {
      clearTimeout(timer);
      stream.removeAllListeners('data');
      if (cut) stream.destroy();
      resolve(bytes);
    };
    const timer = setTimeout(() => done(true), withinMs);
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) done(true);
    });
    stream.once('end', () => done(false));
    stream.once('error', () => done(true));
  });
}
