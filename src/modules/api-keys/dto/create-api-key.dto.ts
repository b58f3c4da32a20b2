import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { KEY_SCOPES, KeyScope } from '../../../core/tenancy/tenant-scope';

export class CreateApiKeyDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(3)
  @IsIn(KEY_SCOPES, { each: true, message: `each value in scopes must be one of ${KEY_SCOPES.join(', ')}` })
  scopes?: KeyScope[];
}
