import { readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Logger } from '@nestjs/common';

/** What `lowerBackendPriority` needs of a new pg connection. */
export interface NewConnection {
  host?: string;
  connection?: { stream?: { localPort?: number } };
  query(sql: string): Promise<{ rows: { pid: number }[] }>;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
const logger = new Logger('Lanes');
let told = false;

/**
 * A lane's database work at the lane's priority (docs/lanes.md, "Its database work"): lowers
 * the Postgres backend serving this new connection to `nice`, and its session's CPU share
 * where the kernel groups CPU time by session (every backend is a session of its own), as
 * `lowerOwnPriority` does for the lane itself. Only for a server on this machine, and only
 * for the backend that is this very connection: its command line names our end's port.
 * Lowering another user's process takes the right to (root, or CAP_SYS_NICE); without it
 * the backend keeps the database's priority, said once in the log. Never fails the connection.
 */
export async function lowerBackendPriority(client: NewConnection, nice: number): Promise<void> {
  const port = client.connection?.stream?.localPort;
  if (!client.host || !LOCAL_HOSTS.has(client.host) || !port) return;
  try {
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    const pid = Number(rows[0]?.pid);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(`(${port})`)) return; // another machine's or namespace's process of that number
    try {
      writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    setPriority(pid, nice);
  } catch (err) {
    if (told) return;
    told = true;
    logger.log(`the lane's Postgres backends keep the database's priority: ${(err as Error).message}`);
  }
}
