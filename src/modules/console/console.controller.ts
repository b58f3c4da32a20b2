import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../core/auth/access.decorators';
import { ConsoleAssets } from './console-assets';

/**
 * Serves the single-page console. The page itself needs no credentials: it holds none until
 * the user signs in, and then calls the API with the key as a header like any other client.
 */
@ApiExcludeController()
@Public()
@Controller('console')
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  // Every path under /console that is not an asset is a page of the app (deep links reload).
  @Get(['', '*path'])
  serve(@Req() req: Request, @Res() res: Response): void {
    this.assets.send(req, res);
  }
}
