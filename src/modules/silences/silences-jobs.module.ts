import { Module } from '@nestjs/common';
import { SilenceRelease } from './release/silence-release.service';
import { SilencesModule } from './silences.module';

/** The release of held notifications, loaded by the worker role only. */
@Module({
  imports: [SilencesModule],
  providers: [SilenceRelease],
})
export class SilencesJobsModule {}
