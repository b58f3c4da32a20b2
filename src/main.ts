import 'reflect-metadata';
import { startHttp, startWorker } from './bootstrap';
import { loadConfig } from './config/app-config';
import { ConfigError } from './config/env.schema';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.role === 'worker') await startWorker(config);
  else await startHttp(config);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : (err?.stack ?? String(err))}\n`);
  process.exit(1);
});
