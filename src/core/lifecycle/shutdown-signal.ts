import { Global, Injectable, Module } from '@nestjs/common';

/**
 * Raised when the process starts a graceful shutdown, before anything closes: readiness turns
 * 503 so load balancers stop sending, and long-lived responses (alert streams) end so the HTTP
 * server can finish.
 */
@Injectable()
export class ShutdownSignal {
  private readonly listeners = new Set<() => void>();
  draining = false;

  /** Registers `listener`; returns the function that removes it. */
  onDrain(listener: () => void): () => void {
    if (this.draining) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  begin(): void {
    if (this.draining) return;
    this.draining = true;
    for (const l of this.listeners) l();
    this.listeners.clear();
  }
}

@Global()
@Module({ providers: [ShutdownSignal], exports: [ShutdownSignal] })
export class LifecycleModule {}
