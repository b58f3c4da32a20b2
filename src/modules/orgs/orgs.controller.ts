import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../core/auth/access.decorators';
import { pageRequest, PageQuery } from '../../core/http/pagination';
import { CreateOrgDto } from './dto/org.dto';
import { OrgsService } from './orgs.service';

@ApiTags('orgs')
@ApiSecurity('admin')
@AdminOnly()
@Controller('orgs')
export class OrgsController {
  constructor(private readonly orgs: OrgsService) {}

  @Post()
  create(@Body() body: CreateOrgDto) {
    return this.orgs.create(body.name);
  }

  @Get()
  list(@Query() query: PageQuery) {
    return this.orgs.list(pageRequest(query));
  }
}
