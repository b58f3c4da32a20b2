import type { Response } from 'express';
import { AppError } from '../errors/app-error';

/** Bytes held in a ByteBudget: give some back once the real size is known, or all of them. */
export interface HeldBytes {
  shrinkTo(bytes: number): void;
  release(): void;
}

/**
 * A counting semaphore over bytes, first come first served. A waiter whose client goes away
 * leaves the queue.
 */
export class ByteBudget {
  private inUse = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(private readonly capacity: number) {}

  get bytesInUse(): number {
    return this.inUse;
  }

  acquire(bytes: number, res?: Response): Promise<HeldBytes> {
    const wanted = Math.min(bytes, this.capacity);
    let held = wanted;
    const giveBack = (n: number) => {
      held -= n;
      this.inUse -= n;
      this.drain();
    };
    const handle: HeldBytes = {
      shrinkTo: (n) => {
        if (n < held) giveBack(held - Math.max(0, n));
      },
      release: () => giveBack(held),
    };
    if (!this.waiting.length && this.inUse + wanted <= this.capacity) {
      this.inUse += wanted;
      return Promise.resolve(handle);
    }
    return new Promise((resolve, reject) => {
      const entry = {
        bytes: wanted,
        grant: () => {
          res?.off('close', gone);
          resolve(handle);
        },
      };
      const gone = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        this.drain();
        reject(new AppError(400, 'REQUEST.ABORTED', 'the client went away before its body was read'));
      };
      res?.once('close', gone);
      this.waiting.push(entry);
    });
  }

  private drain(): void {
    while (this.waiting.length && this.inUse + this.waiting[0].bytes <= this.capacity) {
      const next = this.waiting.shift()!;
      this.inUse += next.bytes;
      next.grant();
    }
  }
}
