import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { RollupFreshnessService } from '../analytics/freshness/rollup-freshness.service';
import { PartitionRepository } from './partition.repository';

/** Days of partitions kept ready ahead of (and just behind) today. */
const DAYS_BEHIND = 1;
const DAYS_AHEAD = 7;

@Injectable()
export class PartitionService {
  constructor(
    private readonly repo: PartitionRepository,
    private readonly rollups: RollupFreshnessService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async maintain(now = new Date()): Promise<{ created: string[]; dropped: string[] }> {
    const created = await this.repo.ensureDays(-DAYS_BEHIND, DAYS_AHEAD);
    const days = this.config.retentionDays;
    // Whole UTC days, as the partitions go: every reading before the cutoff is dropped, and
    // with it its identity (a reading and its identity always go together).
    const cutoff = days > 0 ? new Date(Math.floor((now.getTime() - days * 86_400_000) / 86_400_000) * 86_400_000) : null;
    const dropped = cutoff ? await this.repo.dropBefore(cutoff) : [];
    await this.rollups.forgetBefore(cutoff);
    return { created, dropped };
  }
}
