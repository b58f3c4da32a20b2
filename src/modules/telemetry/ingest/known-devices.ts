/**
 * The devices this api process resolved lately, by project and external id, so that a device
 * it knows can keep sending while Postgres is away: its batches are queued durably (202) and
 * stored by the worker once Postgres is back. Consulted only when the lookup itself fails for
 * want of Postgres; otherwise the database answers, as always. Bounded, least recently used
 * out first.
 */
export class KnownDevices {
  private readonly entries = new Map<string, { deviceId: number; at: number }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a lookup's answer; null (no such device) forgets it. */
  remember(projectId: number, externalId: string, deviceId: number | null): void {
    const k = this.key(projectId, externalId);
    this.entries.delete(k);
    if (deviceId === null) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(k, { deviceId, at: this.now() });
  }

  /** The device's id when it was resolved within `maxAgeMs`. */
  recall(projectId: number, externalId: string): number | undefined {
    const entry = this.entries.get(this.key(projectId, externalId));
    return entry && this.now() - entry.at <= this.maxAgeMs ? entry.deviceId : undefined;
  }

  private key(projectId: number, externalId: string): string {
    return `${projectId}\u0000${externalId}`;
  }
}
