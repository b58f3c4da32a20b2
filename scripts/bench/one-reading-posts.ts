import autocannon from 'autocannon';
import { onPlatform, seedTenant } from './platform';

/**
 * `node dist/scripts/bench/one-reading-posts.js`: how many one-reading POST /telemetry an api
 * process answers per second (devices report one reading per request), with a worker storing
 * them. CONNECTIONS (64) keep-alive clients for SECONDS (10) over DEVICES (1,000) devices.
 */
async function main(): Promise<void> {
  await onPlatform({}, 1, async (apiUrl) => {
    const t = await seedTenant(apiUrl, Number(process.env.DEVICES ?? 1000));
    let n = 0;
    const result = await autocannon({
      url: `${apiUrl}/telemetry`,
      method: 'POST',
      connections: Number(process.env.CONNECTIONS ?? 64),
      duration: Number(process.env.SECONDS ?? 10),
      headers: { 'content-type': 'application/json', ...t.auth },
      requests: [
        {
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            body: JSON.stringify({ device_external_id: t.devices[n++ % t.devices.length].external_id, events: [{ ts: new Date().toISOString(), data: { temperature: 20 } }] }),
          }),
        },
      ],
    });
    const codes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]));
    process.stdout.write(`${JSON.stringify({ requests_per_second: result.requests.average, latency_ms: { p50: result.latency.p50, p99: result.latency.p99 }, codes, non2xx: result.non2xx })}\n`);
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
