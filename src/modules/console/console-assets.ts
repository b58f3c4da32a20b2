import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Request, Response } from 'express';
import { errorBody } from '../../core/errors/error-body';

/** Where `npm run build` writes the console (scripts/build-console.ts): dist/console. */
export const CONSOLE_DIST_DIR = path.resolve(__dirname, '../../../console');
export const CONSOLE_BASE_PATH = '/console';
const ASSET_PREFIX = `${CONSOLE_BASE_PATH}/assets/`;

/**
 * Only this origin, nothing inline: the bundle is one script and one stylesheet from
 * /console/assets, and it talks to this API only. Styles set through the CSSOM (uPlot, Preact's
 * style props) are not inline markup and stay allowed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

/** Loads the built console once, compressed in memory, and answers with the right headers. */
@Injectable()
export class ConsoleAssets implements OnModuleInit {
  private readonly log = new Logger('Console');
  private readonly files = new Map<string, Asset>();
  private index: Asset | null = null;

  onModuleInit(): void {
    const assetsDir = path.join(CONSOLE_DIST_DIR, 'assets');
    if (!existsSync(path.join(CONSOLE_DIST_DIR, 'index.html')) || !existsSync(assetsDir)) {
      this.log.warn(`console not built (${CONSOLE_DIST_DIR} missing): run npm run build`);
      return;
    }
    this.index = load(path.join(CONSOLE_DIST_DIR, 'index.html'));
    for (const name of readdirSync(assetsDir)) this.files.set(name, load(path.join(assetsDir, name)));
  }

  send(req: Request, res: Response): void {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    const urlPath = req.path;
    if (urlPath.startsWith(ASSET_PREFIX)) {
      const asset = this.files.get(urlPath.slice(ASSET_PREFIX.length));
      if (!asset) {
        res.status(404).json(errorBody(req, 'CONSOLE.ASSET_NOT_FOUND', 'no such console asset'));
        return;
      }
      // Asset names carry a hash of their content, so they never change under a name.
      write(req, res, asset, 'public, max-age=31536000, immutable');
      return;
    }
    if (!this.index) {
      res.status(503).json(errorBody(req, 'CONSOLE.NOT_BUILT', 'the console is not built: run npm run build'));
      return;
    }
    write(req, res, this.index, 'no-cache');
  }
}

function load(file: string): Asset {
  const body = readFileSync(file);
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    type: TYPES[path.extname(file)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

function write(req: Request, res: Response, asset: Asset, cacheControl: string): void {
  res.setHeader('Content-Type', asset.type);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('ETag', asset.etag);
  res.setHeader('Vary', 'Accept-Encoding');
  if (req.header('if-none-match') === asset.etag) {
    res.status(304).end();
    return;
  }
  const gzip = /\bgzip\b/.test(req.header('accept-encoding') ?? '');
  if (gzip) res.setHeader('Content-Encoding', 'gzip');
  res.status(200).end(gzip ? asset.gzip : asset.body);
}
