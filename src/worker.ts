import 'reflect-metadata';
import { startWorker } from './bootstrap';
import { loadConfig } from './config/app-config';
import { ConfigError } from './config/env.schema';

startWorker(loadConfig({ ROLE: 'worker' })).catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : (err?.stack ?? String(err))}\n`);
  process.exit(1);
});
