import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../core/auth/access.decorators';
import { ConsoleAssets } from './console-assets';

/**
 * Serves the single-page console (docs/console.md). The page itself needs no credentials: it
 * holds none until the user signs in, and then calls the API with the key as a header like
 * any other client.
 */
@ApiTags('console')
@Public()
@Controller('console')
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  @ApiOperation({ summary: 'The web console (a single-page app; sign in with a project API key)' })
  @ApiProduces('text/html')
  index(@Req() req: Request, @Res() res: Response): void {
    this.assets.send(req, res);
  }

  // Every other path under /console is an asset or a page of the app (deep links reload).
  @Get('*path')
  @ApiExcludeEndpoint()
  page(@Req() req: Request, @Res() res: Response): void {
    this.assets.send(req, res);
  }
}
