import { readdirSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { Metrics } from '../metrics/metrics.service';
import type { LaneMessage } from './lane-process';

/**
 * Lowers every thread of this process to `nice` (a lane: docs/lanes.md). On Linux a priority
 * belongs to a thread, and V8's and libuv's threads exist before any JavaScript runs, so each
 * is set; threads started later inherit it. Elsewhere, the process's. Where the kernel shares
 * CPU time between sessions first (autogroups), nice weighs only within a session, so a lane
 * is started as a session of its own (LaneProcess) and its session gets `nice` too: otherwise
 * the lane's CPU would be taken from its parent's session, the api's or worker's own share.
 */
export function lowerOwnPriority(nice: number): void {
  try {
    writeFileSync('/proc/self/autogroup', String(nice));
  } catch {
    // no autogroups here (not Linux, or CONFIG_SCHED_AUTOGROUP off): nice is enough
  }
  try {
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), nice);
  } catch {
    try {
      setPriority(nice);
    } catch {
      // Not allowed here: the lane still separates the work, at the same priority.
    }
  }
}

/**
 * A lane's side of the IPC channel: tells its parent it is ready (the api lane with its
 * port), answers its heartbeat and for its metrics, and shuts down gracefully (SIGTERM's
 * path) when the channel closes, i.e. when its parent is gone.
 */
export function serveAsLane(nice: number, metrics: Metrics, port?: number): void {
  lowerOwnPriority(nice);
  process.on('message', (m: LaneMessage) => {
    if (m.type === 'ping') process.send?.({ type: 'pong' } satisfies LaneMessage);
    if (m.type !== 'metrics?') return;
    void metrics.ownCounts().then((values) => process.send?.({ type: 'metrics', id: m.id, metrics: values } satisfies LaneMessage));
  });
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.send?.({ type: 'ready', port } satisfies LaneMessage);
}
