import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { API_KEY_VERIFIER } from '../../core/auth/api-key-verifier';
import { ProjectsModule } from '../projects/projects.module';
import { ApiKey } from './api-key.entity';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey]), ProjectsModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, { provide: API_KEY_VERIFIER, useExisting: ApiKeysService }],
  exports: [API_KEY_VERIFIER],
})
export class ApiKeysModule {}
