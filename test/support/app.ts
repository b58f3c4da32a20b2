import { HttpClient } from './http';
import { SpawnedApp, spawnApp } from './spawned-app';
import { TEST_ADMIN_TOKEN } from './test-env';

export interface RunningApp {
  proc: SpawnedApp;
  url: string;
  http: HttpClient;
  admin: HttpClient;
  close(): Promise<void>;
}

/**
 * Starts the real platform (compiled by `npm test` before jest runs) as its own OS process
 * on a free port, against the run's database and Redis prefix. Role `all` unless overridden.
 * NestJS 12 ships as ES modules, which jest's CommonJS runtime cannot load on Node 20, so the
 * app never runs inside the jest process: tests reach it the way users do, over HTTP.
 */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const proc = await spawnApp(env);
  const http = new HttpClient(proc.url);
  return {
    proc,
    url: proc.url,
    http,
    admin: http.with({ 'X-Admin-Token': TEST_ADMIN_TOKEN }),
    close: () => proc.stop(),
  };
}
