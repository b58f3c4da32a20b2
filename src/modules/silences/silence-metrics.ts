import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Metrics } from '../../core/metrics/metrics.service';
import { SilencesRepository } from './silences.repository';
import { stateAt } from './windows/silence-timing';

/** The silences' metrics, in the process's registry (see core/metrics). */
@Injectable()
export class SilenceMetrics {
  readonly muted: Counter;
  readonly renotified: Counter;

  constructor(metrics: Metrics, repo: SilencesRepository) {
    const registers = [metrics.registry];
    this.muted = new Counter({
      name: 'watchpost_webhook_deliveries_muted_total',
      help: 'Alert events whose webhook deliveries a silence held back (this process), by event.',
      labelNames: ['event'],
      registers,
    });
    this.renotified = new Counter({
      name: 'watchpost_silence_renotifications_total',
      help: 'Held alert events delivered once their silences stopped matching (this process), by event.',
      labelNames: ['event'],
      registers,
    });
    new Gauge({
      name: 'watchpost_silences_active',
      help: 'Silences active now, per project (read from Postgres at scrape time; projects without one are not listed).',
      labelNames: ['project_id'],
      registers,
      async collect() {
        this.reset();
        const now = Date.now();
        const counts = new Map<number, number>();
        for (const s of await repo.liveOf(null, null)) {
          const timing = { startsAt: new Date(s.starts_at).getTime(), endsAt: s.ends_at ? new Date(s.ends_at).getTime() : null, recurrence: s.recurrence };
          if (stateAt(timing, now) === 'active') counts.set(Number(s.project_id), (counts.get(Number(s.project_id)) ?? 0) + 1);
        }
        for (const [projectId, n] of counts) this.set({ project_id: String(projectId) }, n);
      },
    });
  }
}
