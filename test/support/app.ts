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

/**
 * One scrape of the process's `/metrics` (Prometheus text), read by series: `series` is a
 * metric's name with its labels as rendered, e.g. `watchpost_api_key_checks_total{check="row"}`.
 * A series the scrape lacks is `absent` if given (a labelled counter not yet counted is not
 * rendered at all), else an error, so a test cannot pass on a metric that is gone.
 */
export async function scrapeMetrics(app: RunningApp): Promise<(series: string, absent?: number) => number> {
  const text = (await app.http.get('/metrics')).text;
  return (series, absent) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    if (line) return Number(line.slice(series.length + 1));
    if (absent !== undefined) return absent;
    throw new Error(`no ${series} in /metrics`);
  };
}
