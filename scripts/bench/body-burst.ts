import { gzipSync } from 'node:zlib';
import { benchEnv, dropRunData, peakRssMb, seedTenant, startProcess } from './platform';

/**
 * `node dist/scripts/bench/body-burst.js`: what a burst of large request bodies costs an api
 * process (docs/hostile-input.md). BURST concurrent gzip bodies of ~9.5 MB of JSON each (a few
 * KB on the wire) are sent to POST /projects/{id}/devices, first without a key, then with one;
 * the process's peak RSS and the body bytes it read (from /metrics) are reported after each.
 * `MAX_BODY_BYTES_IN_FLIGHT` may be set to compare budgets.
 */
const BURST = Number(process.env.BURST ?? 150);

async function bodyBytesRead(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^watchpost_http_body_bytes_read_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const env = benchEnv();
  const extra: Record<string, string> = process.env.MAX_BODY_BYTES_IN_FLIGHT ? { MAX_BODY_BYTES_IN_FLIGHT: process.env.MAX_BODY_BYTES_IN_FLIGHT } : {};
  const proc = await startProcess('api', 'all', env, extra);
  const url = proc.url!;
  try {
    const t = await seedTenant(url, 0);
    const json = JSON.stringify({ external_id: 'burst', name: 'burst', padding: Array.from({ length: 200_000 }, (_, i) => ({ i, s: 'x'.repeat(30) })) });
    const gz = gzipSync(json);
    process.stdout.write(`[burst] ${BURST} × ${(json.length / 1e6).toFixed(1)} MB of JSON (${(gz.length / 1e3).toFixed(0)} KB gzip)\n`);
    const send = (headers: Record<string, string>) =>
      fetch(`${url}/projects/${t.projectId}/devices`, { method: 'POST', body: gz, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers } }).then(
        (r) => r.status,
        () => 0,
      );
    const base = peakRssMb(proc.child.pid);
    for (const [label, headers] of [['without a key', {}], ['with a valid key', t.auth]] as const) {
      const started = performance.now();
      const statuses = await Promise.all(Array.from({ length: BURST }, () => send(headers)));
      const counts = statuses.reduce<Record<number, number>>((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {});
      process.stdout.write(
        `[burst] ${label}: ${JSON.stringify(counts)} in ${Math.round(performance.now() - started)} ms; ` +
          `peak RSS ${peakRssMb(proc.child.pid)} MB (at start ${base} MB); body bytes read ${await bodyBytesRead(url)}\n`,
      );
    }
  } finally {
    await proc.stop();
    await dropRunData(env);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
