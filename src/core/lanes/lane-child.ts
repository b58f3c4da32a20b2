import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Logger } from '@nestjs/common';
import type { Metrics } from '../metrics/metrics.service';
import type { LaneMessage } from './lane-process';

/** How a lane runs beside everyone else: the config's `lanes` (docs/lanes.md). */
export interface LanePriority {
  nice: number;
  /** Every thread also in the kernel's idle scheduling class (SCHED_IDLE). */
  idleClass: boolean;
}

const logger = new Logger('Lanes');

/**
 * Lowers every thread of this process to `nice` (a lane: docs/lanes.md). On Linux a priority
 * belongs to a thread, and V8's and libuv's threads exist before any JavaScript runs, so each
 * is set; threads started later inherit it. Elsewhere, the process's. Where the kernel shares
 * CPU time between sessions first (autogroups), nice weighs only within a session, so a lane
 * is started as a session of its own (LaneProcess) and its session gets `nice` too: otherwise
 * the lane's CPU would be taken from its parent's session, the api's or worker's own share.
 *
 * With `idleClass`, every thread also goes to SCHED_IDLE (util-linux's `chrt`: Node has no
 * call for it; any process may lower itself to it). Nice still lets a low-priority thread
 * finish its slice before a woken one of everyone else's runs; an idle-class thread is
 * preempted at once, and a core running only such threads counts as free when the kernel
 * places a woken thread (docs/lanes.md, "The idle class"). Threads started later inherit it.
 * Without `chrt`, or where the kernel refuses, the lane keeps nice, said once in its log.
 */
export function lowerOwnPriority(priority: LanePriority): void {
  const { nice, idleClass } = priority;
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
  if (!idleClass || process.platform !== 'linux') return;
  try {
    execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 5_000 });
  } catch (err) {
    logger.log(`the lane keeps the normal scheduling class at nice ${nice}: chrt --idle failed (${(err as Error).message})`);
  }
}

/**
 * A lane's side of the IPC channel: tells its parent it is ready (the api lane with its
 * port), answers its heartbeat and for its metrics, and shuts down gracefully (SIGTERM's
 * path) when the channel closes, i.e. when its parent is gone.
 */
export function serveAsLane(priority: LanePriority, metrics: Metrics, port?: number): void {
  lowerOwnPriority(priority);
  process.on('message', (m: LaneMessage) => {
    if (m.type === 'ping') process.send?.({ type: 'pong' } satisfies LaneMessage);
    if (m.type !== 'metrics?') return;
    void metrics.ownCounts().then((values) => process.send?.({ type: 'metrics', id: m.id, metrics: values } satisfies LaneMessage));
  });
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.send?.({ type: 'ready', port } satisfies LaneMessage);
}
