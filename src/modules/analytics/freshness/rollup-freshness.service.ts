import { Injectable } from '@nestjs/common';
import { RollupFreshnessRepository } from './rollup-freshness.repository';

/** What other modules ask of the freshness half (docs/analytics.md). */
@Injectable()
export class RollupFreshnessService {
  constructor(private readonly repo: RollupFreshnessRepository) {}

  /** After retention dropped the readings before `cutoff` (null: none dropped, only tidy up). */
  forgetBefore(cutoff: Date | null): Promise<void> {
    return this.repo.forgetBefore(cutoff);
  }
}
