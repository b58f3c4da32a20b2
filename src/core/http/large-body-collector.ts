import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bodies at least this large count towards a collection; everyday requests never do. */
export const LARGE_BODY_BYTES = 1024 * 1024;

/** V8's full collection, exposed at run time (the same function `--expose-gc` gives). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * A full garbage collection after every `everyBytes` of large request bodies handled
 * (docs/hostile-input.md, "Memory"). Parsing a 10 MB JSON body leaves several times its size
 * in garbage, and V8, with gigabytes of heap allowed, lets that garbage grow the process by
 * hundreds of MB during a burst of such bodies before it collects. The bytes-in-flight budget
 * bounds what is live; this bounds what is dead. Large bodies are rare and already cost far
 * more to parse than the collection does.
 */
export class LargeBodyCollector {
  private pending = 0;

  constructor(
    private readonly everyBytes: number,
    private readonly collect: () => void = exposeGc(),
  ) {}

  /** A request whose body had `bytes` bytes was answered. */
  handled(bytes: number): void {
    if (bytes < LARGE_BODY_BYTES) return;
    this.pending += bytes;
    if (this.pending < this.everyBytes) return;
    this.pending = 0;
    this.collect();
  }
}
