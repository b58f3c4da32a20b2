/**
 * A local webhook receiver for trying the platform by hand: prints each delivery and which of
 * the secrets it knows verified its signatures, then answers with a fixed status (use
 * --status 500 or 410 to watch retries and disabling). Give --secret more than once to watch a
 * rotation: during its grace the old and the new secret both verify (docs/webhooks.md).
 *
 *   npm run webhook-sink -- [--port 9000] [--secret whsec_... [--secret whsec_...]] [--status 200]
 *
 * WEBHOOK_SINK_PORT and WEBHOOK_SINK_SECRET (comma-separated for several) stand in for the
 * flags. Plain node:http, so it starts without the platform's config or services.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { verifyLegacySignature, verifyStandardSignature } from '../src/modules/webhooks/signing';
import { readBody } from './local-http';

interface SinkOptions {
  port: number;
  secrets: string[];
  status: number;
}

function fail(message: string): never {
  console.error(`webhook-sink: ${message}`);
  process.exit(2);
}

function readOptions(): SinkOptions {
  let values: { port?: string; secret?: string[]; status?: string };
  try {
    ({ values } = parseArgs({
      options: { port: { type: 'string' }, secret: { type: 'string', multiple: true }, status: { type: 'string' } },
    }));
  } catch (err) {
    fail(err.message);
  }
  const port = Number(values.port ?? process.env.WEBHOOK_SINK_PORT ?? 9000);
  const status = Number(values.status ?? 200);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port ${values.port ?? process.env.WEBHOOK_SINK_PORT}`);
  if (!Number.isInteger(status) || status < 200 || status > 599) fail(`invalid status ${values.status}`);
  const secrets = values.secret?.length ? values.secret : (process.env.WEBHOOK_SINK_SECRET ?? '').split(',');
  return { port, status, secrets: secrets.map((x) => x.trim()).filter(Boolean) };
}

/** Names a secret without printing it: its place on the command line and a short fingerprint. */
function secretLabel(secrets: string[], i: number): string {
  return `secret #${i + 1} (sha256 ${createHash('sha256').update(secrets[i]).digest('hex').slice(0, 8)})`;
}

/** Which of the known secrets verify a delivery, e.g. "valid with secret #2 (sha256 1a2b3c4d)". */
function verdict(secrets: string[], verify: (secret: string) => boolean): string {
  if (!secrets.length) return 'not checked (no secret)';
  const ok = secrets.flatMap((secret, i) => (verify(secret) ? [secretLabel(secrets, i)] : []));
  return ok.length ? `valid with ${ok.join(', ')}` : 'INVALID with every secret given';
}

function jsonObject(body: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function report(req: IncomingMessage, body: string, secrets: string[]): string {
  const payload = jsonObject(body);
  const field = (name: string) => (payload?.[name] === undefined ? '-' : String(payload[name]));
  const lines = [
    `--- ${new Date().toISOString()} POST ${req.url}`,
    `  webhook-id:         ${req.headers['webhook-id'] ?? '-'}`,
    `  event:              ${field('event')}`,
    `  alert_id:           ${field('alert_id')}`,
    `  device_external_id: ${field('device_external_id')}`,
    `  status:             ${field('status')}`,
    `  severity:           ${field('severity')}`,
    `  signatures sent:    ${String(req.headers['webhook-signature'] ?? '').split(' ').filter(Boolean).length}`,
    `  standard signature: ${verdict(secrets, (s) => verifyStandardSignature(s, req.headers, body))}`,
    `  legacy signature:   ${verdict(secrets, (s) => verifyLegacySignature(s, req.headers, body))}`,
  ];
  if (!payload) lines.push(`  body (not a JSON object): ${body.slice(0, 500)}`);
  return lines.join('\n');
}

function main(): void {
  const options = readOptions();
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end('{"ok":false}');
      return;
    }
    readBody(req).then(
      (body) => {
        console.log(report(req, body, options.secrets));
        res.writeHead(options.status, { 'content-type': 'application/json' }).end('{"ok":true}');
      },
      (err) => {
        console.error(`webhook-sink: could not read a request body: ${err.message}`);
        res.destroy();
      },
    );
  });

  const shutdown = () => {
    server.close();
    // Without this, a sender's keep-alive connection would hold the process open.
    server.closeAllConnections();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  server.on('error', (err) => fail(err.message));
  server.listen(options.port, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`webhook sink listening on http://127.0.0.1:${port}`);
    const known = options.secrets.map((_, i) => secretLabel(options.secrets, i)).join(', ');
    console.log(`  answering ${options.status}; signatures ${known ? `checked with ${known}` : 'not checked (no secret)'}`);
  });
}

main();
