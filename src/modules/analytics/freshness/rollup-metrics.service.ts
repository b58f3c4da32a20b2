import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import type { HasRollups, RollupSourceRow } from './rollup-changes';
import { RollupMetricsRepository, RollupMetricsState } from './rollup-metrics.repository';

/** Where a project-wide query of a metric finds its answer. */
export type MetricSource = 'rollups' | 'readings' | 'nothing';

/** What this process knows of a project's metrics: both only ever grow (see the migration). */
interface Known {
  rolled: Set<string>;
  full: boolean;
}

/**
 * Which metrics of a project have rollups: the first ROLLUP_METRICS_PER_PROJECT distinct ones
 * it writes numbers for (docs/analytics.md, "Which metrics have rollups"). The reading writer
 * admits a flush's new metrics before its statement, so a metric with rollups has a delta or a
 * mark for every number ever written of it; queries of any other metric read the readings,
 * exact as ever. Admissions are for good and the limit only ever fills, so this process keeps
 * what it learnt (at most the limit's worth of names per project) and asks the database only
 * about a metric it has not seen while the project is not full.
 */
@Injectable()
export class RollupMetrics {
  private readonly logger = new Logger('Rollups');
  private readonly known = new Map<number, Known>();
  private readonly limit: number;

  constructor(
    private readonly repo: RollupMetricsRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = config.rollupMetricsPerProject;
  }

  /** Admits the new numeric metrics of `rows` where their project has room; tells which of their metrics have rollups. */
  async admit(rows: readonly RollupSourceRow[]): Promise<HasRollups> {
    const asked = new Map<number, Set<string>>();
    for (const row of rows) {
      const known = this.known.get(row.projectId);
      if (known?.full) continue;
      for (const metric in row.data) {
        if (typeof row.data[metric] !== 'number' || known?.rolled.has(metric)) continue;
        let ask = asked.get(row.projectId);
        if (!ask) asked.set(row.projectId, (ask = new Set()));
        ask.add(metric);
      }
    }
    for (const [projectId, metrics] of asked) await this.learn(projectId, await this.repo.admit(projectId, [...metrics], this.limit));
    return (projectId, metric) => this.known.get(projectId)?.rolled.has(metric) ?? false;
  }

  /** Where a project-wide query of `metric` is answered: nothing was ever written of a metric that would have been admitted. */
  async sourceOf(projectId: number, metric: string): Promise<MetricSource> {
    const known = this.known.get(projectId);
    if (known?.rolled.has(metric)) return 'rollups';
    if (known?.full) return 'readings';
    const state = await this.repo.lookUp(projectId, [metric], this.limit);
    await this.learn(projectId, state);
    return state.rolled.length ? 'rollups' : state.full ? 'readings' : 'nothing';
  }

  /**
   * Keeps what the database said. Once a project is full, its metrics with rollups are all
   * loaded (they no longer change), so `admit` never needs to ask about it again.
   */
  private async learn(projectId: number, { rolled, full }: RollupMetricsState): Promise<void> {
    let known = this.known.get(projectId);
    if (!known) this.known.set(projectId, (known = { rolled: new Set(), full: false }));
    for (const m of rolled) known.rolled.add(m);
    if (full && !known.full) {
      for (const m of await this.repo.allOf(projectId)) known.rolled.add(m);
      known.full = true;
      this.logger.warn(`project ${projectId} has rollups for ${this.limit} metrics (ROLLUP_METRICS_PER_PROJECT): its other metrics are answered from the readings`);
    }
  }
}
