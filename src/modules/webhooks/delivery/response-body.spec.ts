import { Readable } from 'node:stream';
import { MAX_RESPONSE_BYTES, readAtMost } from './response-body';

describe('reading a subscriber answer', () => {
  it('reads a short body to its end', async () => {
    const stream = Readable.from([Buffer.from('{"ok":'), Buffer.from('true}')]);
    expect(await readAtMost(stream, MAX_RESPONSE_BYTES, 1000)).toBe(11);
  });

  it('cuts a body off past the limit, without reading the rest', async () => {
    let produced = 0;
    const stream = new Readable({
      read() {
        produced += 16 * 1024;
        this.push(Buffer.alloc(16 * 1024));
      },
    });
    const read = await readAtMost(stream, MAX_RESPONSE_BYTES, 1000);
    expect(read).toBeGreaterThan(MAX_RESPONSE_BYTES);
    expect(read).toBeLessThanOrEqual(MAX_RESPONSE_BYTES + 16 * 1024);
    expect(stream.destroyed).toBe(true);
    expect(produced).toBeLessThan(1024 * 1024);
  });

  it('gives up on a body still arriving at the deadline, and never rejects', async () => {
    const stalled = new Readable({ read() {} });
    stalled.push('partial');
    expect(await readAtMost(stalled, MAX_RESPONSE_BYTES, 50)).toBe(7);
    expect(stalled.destroyed).toBe(true);
    const broken = new Readable({ read() {} });
    setTimeout(() => broken.destroy(new Error('socket hang up')), 5);
    await expect(readAtMost(broken, MAX_RESPONSE_BYTES, 1000)).resolves.toBe(0);
  });
});
