import { Controller, Get, Header, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public, RequireScope } from '../../core/auth/access.decorators';
import type { AuthenticatedRequest } from '../../core/auth/auth.guard';
import { ConsoleAssets } from './console-assets';
import { ConsoleSessionResponse, toConsoleSession } from './dto/console-session.response';

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

  /**
   * The project and scopes of the key in the header, so sign-in needs the key alone. The one
   * console route that needs a key (scope `read`, as every GET); declared before the catch-all.
   */
  @Get('session')
  @RequireScope('read')
  @ApiSecurity('api-key')
  @ApiOperation({ summary: "The signed-in key's project, prefix and scopes (the console's sign-in)" })
  @Header('Cache-Control', 'no-store')
  session(@Req() req: AuthenticatedRequest): ConsoleSessionResponse {
    return toConsoleSession(req.apiKey!);
  }

  // Every other path under /console is an asset or a page of the app (deep links reload).
  @Get('*path')
  @ApiExcludeEndpoint()
  page(@Req() req: Request, @Res() res: Response): void {
    this.assets.send(req, res);
  }
}
