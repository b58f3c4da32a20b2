import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's chromium driven by playwright-core, for the console's browser tests and benchmark:
 * installed when missing (scripts/ensure-chromium.sh), headless, with a fresh profile and
 * nothing that reaches beyond the machine (no sync, updates, QUIC or background fetches).
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1440, height: 900 }): Promise<Browser> {
  execFileSync('bash', [path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../scripts' : '.', 'ensure-chromium.sh')], { stdio: 'inherit' });
  const profile = mkdtempSync(path.join(os.tmpdir(), 'watchpost-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
