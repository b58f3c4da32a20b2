import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import type { AttemptOutcome } from '../delivery/outcome';
import { Admission, CircuitState, CircuitStore } from './circuit-store';

/** Breakers kept per process; beyond this the least recently used one is dropped. */
const MAX_LOCAL_BREAKERS = 10_000;

/** A retryable outcome, as the rejection opossum counts as a failure. */
class RetryableOutcome extends Error {
  constructor(readonly outcome: AttemptOutcome) {
    super(outcome.kind === 'retry' ? outcome.error : outcome.kind);
  }
}

type Send = () => Promise<AttemptOutcome>;

/**
 * Each webhook's sends go through an opossum breaker, and the circuit they share lives in
 * Redis (CircuitStore): opossum runs the send and classifies it (only retryable outcomes are
 * failures; its errorFilter counts the rest as successes, as the design asks for 4xx other
 * than 408/429), while the decisions (admit, open at the threshold, one probe across all
 * processes, close or re-open on the probe's result) are made atomically on the shared state.
 * opossum's own rolling-window tripping is switched off (volumeThreshold), since a per-process
 * count would let every process hammer a dead endpoint on its own; each local breaker is
 * opened and closed to mirror the shared state, which keeps its events and stats meaningful.
 */
@Injectable()
export class WebhookCircuits implements OnApplicationShutdown {
  private readonly breakers = new Map<number, CircuitBreaker<[Send], AttemptOutcome>>();
  private readonly probeLeaseMs: number;

  constructor(
    private readonly store: CircuitStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.probeLeaseMs = config.webhooks.connectTimeoutMs + config.webhooks.timeoutMs + 5_000;
  }

  /** Asks the shared circuit (one Redis round trip; docs/webhooks.md, "The delivery path"). */
  admit(webhookId: number): Promise<Admission> {
    return this.store.admit(webhookId, this.probeLeaseMs);
  }

  /** A probe admitted for a delivery that then was not sent. */
  releaseProbe(webhookId: number): Promise<void> {
    return this.store.releaseProbe(webhookId);
  }

  /**
   * Runs one admitted send and moves the shared circuit by its outcome. `wasClean`: admitted
   * on a closed circuit with no failures counted, where a success changes nothing (the common
   * case, spared a Redis round trip).
   */
  async fire(webhookId: number, admitted: { probe: boolean; wasClean?: boolean }, send: Send): Promise<AttemptOutcome> {
    const wasProbe = admitted.probe;
    const breaker = this.breaker(webhookId);
    // The shared state admitted this send; the local mirror must not refuse it.
    if (!breaker.closed) breaker.close();
    const outcome = await breaker.fire(send).catch((err: unknown) => {
      if (err instanceof RetryableOutcome) return err.outcome;
      throw err;
    });
    if (outcome.kind !== 'retry' && admitted.wasClean) return outcome;
    const state = outcome.kind === 'retry' ? await this.store.failed(webhookId, wasProbe) : await this.store.succeeded(webhookId, wasProbe);
    this.mirror(breaker, state);
    return outcome;
  }

  reset(webhookId: number): Promise<void> {
    this.breakers.get(webhookId)?.close();
    return this.store.reset(webhookId);
  }

  read(webhookId: number) {
    return this.store.read(webhookId);
  }

  onApplicationShutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }

  private mirror(breaker: CircuitBreaker<[Send], AttemptOutcome>, state: CircuitState): void {
    if (state === 'open' && !breaker.opened) breaker.open();
    else if (state === 'closed' && !breaker.closed) breaker.close();
  }

  private breaker(webhookId: number): CircuitBreaker<[Send], AttemptOutcome> {
    let breaker = this.breakers.get(webhookId);
    if (breaker) {
      // Re-inserting keeps the map in least-recently-used order.
      this.breakers.delete(webhookId);
      this.breakers.set(webhookId, breaker);
      return breaker;
    }
    breaker = new CircuitBreaker(
      async (send: Send) => {
        const outcome = await send();
        if (outcome.kind === 'retry') throw new RetryableOutcome(outcome);
        return outcome;
      },
      {
        name: `webhook-${webhookId}`,
        timeout: false,
        resetTimeout: this.config.webhooks.circuitResetTimeoutMs,
        volumeThreshold: Number.MAX_SAFE_INTEGER,
        errorFilter: (err: unknown) => !(err instanceof RetryableOutcome),
      },
    );
    this.breakers.set(webhookId, breaker);
    if (this.breakers.size > MAX_LOCAL_BREAKERS) {
      const [oldestId, oldest] = this.breakers.entries().next().value!;
      oldest.shutdown();
      this.breakers.delete(oldestId);
    }
    return breaker;
  }
}
