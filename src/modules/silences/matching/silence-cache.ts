import type { EntityManager } from 'typeorm';
import type { ProjectSilences } from './project-silences';

interface Entry {
  value: Promise<ProjectSilences>;
  expiresAt: number;
}

/**
 * The compiled silences of each project, so the mute check on every alert change costs no
 * query. An entry lives until a change drops it (every process hears of changes through
 * Redis), `ttlMs` passes (a safety net for a missed message), or its spans run out. Projects
 * without silences are remembered too: for them the check is one map look-up.
 */
export class SilenceCache {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly load: (projectId: number, manager: EntityManager | null) => Promise<ProjectSilences>,
    private readonly ttlMs: number,
    private readonly maxProjects = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `manager`: load through this transaction's connection when the entry is missing, so an
   * alert change holding a pooled connection never waits on the pool for a second one.
   */
  get(projectId: number, manager: EntityManager | null = null): Promise<ProjectSilences> {
    const now = this.now();
    const hit = this.entries.get(projectId);
    if (hit && hit.expiresAt > now) return hit.value;
    if (this.entries.size >= this.maxProjects) this.entries.delete(this.entries.keys().next().value as number);
    const entry: Entry = { value: this.load(projectId, manager), expiresAt: now + this.ttlMs };
    this.entries.set(projectId, entry);
    entry.value.then(
      (compiled) => (entry.expiresAt = Math.min(entry.expiresAt, compiled.to)),
      () => this.entries.get(projectId) === entry && this.entries.delete(projectId),
    );
    return entry.value;
  }

  /** A silence of the project changed: the next check loads afresh. */
  drop(projectId: number): void {
    this.entries.delete(projectId);
  }

  clear(): void {
    this.entries.clear();
  }
}
