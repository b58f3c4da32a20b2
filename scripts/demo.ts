/**
 * `npm run demo`: the walkthrough (docs/walkthrough.md) as one command, for a person trying the platform.
 *
 * Uses the platform on 127.0.0.1:$PORT when its /health/ready answers 200, else starts one
 * (ROLE=all, output in demo-platform.log) and stops it at the end. Then, through the HTTP API
 * only: an org, a project, a key, three devices, two rules and a webhook to a receiver inside
 * this process; the live alert stream; ~10 s of readings in which one device runs hot. Every
 * stream event and webhook arrival (with both signatures checked) is printed as it happens.
 *
 * Exit 0 when an alert.triggered reached both the stream and the webhook (signatures valid).
 * PORT and ADMIN_TOKEN come from the environment, else from `.env`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { verifyLegacySignature, verifyStandardSignature } from '../src/modules/webhooks/signing';
import { listenLocal, readBody, readSse, SseBlock } from './local-http';

const ROOT = path.resolve(__dirname, '../..');
const ENV_FILE = path.join(ROOT, '.env');
const ENV_EXAMPLE = path.join(ROOT, '.env.example');
const LOG_FILE = path.join(ROOT, 'demo-platform.log');

const READY_TIMEOUT_MS = 120_000;
const REQUEST_TIMEOUT_MS = 10_000;
const TICKS = 11; // one batch per device per second
const HOT_TICKS = new Set([2, 3, 4, 5, 6]); // device 1 runs hot for five readings
const SETTLE_TIMEOUT_MS = 25_000; // after the last reading: wait for the resolve to arrive

const started = Date.now();

// ---------------------------------------------------------------------------------- output

function rel(): string {
  return `[+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
}
function say(line = ''): void {
  console.log(line ? `${rel()} ${line}` : '');
}
function note(line: string): void {
  console.log(line);
}

class DemoError extends Error {}
/** Thrown by the loops once Ctrl-C asked the demo to stop; the signal handler cleans up. */
class Interrupted extends Error {}
let stopping = false;
function checkStop(): void {
  if (stopping) throw new Interrupted('interrupted');
}

// ------------------------------------------------------------------------------ .env, config

function parseEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(file)) return out;
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1]] = value;
  }
  return out;
}

/** As scripts/start.sh does: .env from .env.example with a random ADMIN_TOKEN, owner-only. */
function ensureEnvFile(): void {
  if (existsSync(ENV_FILE)) return;
  const token = randomBytes(24).toString('hex');
  const text = readFileSync(ENV_EXAMPLE, 'utf8').replace(/^ADMIN_TOKEN=.*$/m, `ADMIN_TOKEN=${token}`);
  writeFileSync(ENV_FILE, text, { mode: 0o600 });
  say(`created .env from .env.example with a random ADMIN_TOKEN`);
}

interface Settings {
  port: number;
  adminToken: string | undefined;
  tokenSource: string;
}

function readSettings(): Settings {
  const file = parseEnvFile(ENV_FILE);
  const portText = process.env.PORT || file.PORT || '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DemoError(`invalid PORT ${portText}`);
  const adminToken = process.env.ADMIN_TOKEN || file.ADMIN_TOKEN || undefined;
  const tokenSource = process.env.ADMIN_TOKEN ? 'the environment' : file.ADMIN_TOKEN ? '.env' : 'nowhere';
  return { port, adminToken, tokenSource };
}

// ------------------------------------------------------------------------------------ HTTP

class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly route: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${route} answered ${status}: ${body.slice(0, 400)}`);
  }
  get code(): string | undefined {
    try {
      return (JSON.parse(this.body) as { error?: { code?: string } }).error?.code;
    } catch {
      return undefined;
    }
  }
}

class Api {
  constructor(
    readonly base: string,
    private readonly headers: Record<string, string>,
  ) {}

  async call<T = any>(method: string, route: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + route, {
        method,
        headers: { 'content-type': 'application/json', ...this.headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new DemoError(`${method} ${route}: no answer (${err?.cause?.code ?? err?.name ?? err})`);
    }
    const text = await res.text();
    if (!res.ok) throw new ApiError(method, route, res.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

async function readyStatus(base: string): Promise<number | null> {
  try {
    const res = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (used: boolean) => {
      socket.destroy();
      resolve(used);
    };
    socket.setTimeout(1_000, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------- platform process

interface Platform {
  child: ChildProcess;
  stop(): Promise<void>;
}

function runServices(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/services.sh'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGTERM'), 600_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new DemoError(`scripts/services.sh: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new DemoError(`scripts/services.sh failed (${signal ?? `exit ${code}`}): Postgres and Redis are needed`));
    });
  });
}

function logTail(lines = 15): string {
  try {
    return readFileSync(LOG_FILE, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `    ${l}`).join('\n');
  } catch {
    return '    (no log)';
  }
}

async function startPlatform(port: number, base: string): Promise<Platform> {
  say('no platform answers there: starting one');
  await runServices();
  ensureEnvFile();
  // The environment wins over .env, as the platform's own config loader does.
  const env = {
    ...parseEnvFile(ENV_FILE),
    ...process.env,
    ROLE: 'all',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    PORT: String(port),
  };
  const log = openSync(LOG_FILE, 'w');
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    env,
    // Its own process group: Ctrl-C reaches only the demo, which then stops it cleanly.
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = once(child, 'exit');
  // Last resort if the demo dies without its cleanup: do not leave the platform behind.
  const orphanGuard = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', orphanGuard);
  const platform: Platform = {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      say(`stopping the platform (pid ${child.pid})`);
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
      if (!done) {
        say('the platform did not stop within 20 s: SIGKILL');
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(5_000)]);
      }
      process.off('exit', orphanGuard);
      say(`platform stopped (${child.signalCode ?? `exit ${child.exitCode}`})`);
    },
  };
  cleanups.push(() => platform.stop());
  say(`platform pid ${child.pid} (ROLE=all, WEBHOOK_ALLOW_PRIVATE_TARGETS=true), output → ${path.relative(process.cwd(), LOG_FILE) || LOG_FILE}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    checkStop();
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new DemoError(`the platform exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was ready; end of ${LOG_FILE}:\n${logTail()}`);
    }
    if ((await readyStatus(base)) === 200) {
      say(`platform ready at ${base}`);
      return platform;
    }
    await sleep(300);
  }
  throw new DemoError(`the platform was not ready within ${READY_TIMEOUT_MS / 1000} s; end of ${LOG_FILE}:\n${logTail()}`);
}

// -------------------------------------------------------------------------- webhook receiver

interface Arrival {
  at: number;
  webhookId: string;
  event: string;
  alertId: number | undefined;
  device: string;
  standard: boolean;
  legacy: boolean;
}

interface Receiver {
  server: Server;
  url: string;
  arrivals: Arrival[];
  close(): Promise<void>;
}

async function startReceiver(getSecret: () => string): Promise<Receiver> {
  const arrivals: Arrival[] = [];
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    readBody(req).then(
      (body) => {
        const secret = getSecret();
        const standard = verifyStandardSignature(secret, req.headers, body);
        const legacy = verifyLegacySignature(secret, req.headers, body);
        let payload: Record<string, any> = {};
        try {
          payload = JSON.parse(body);
        } catch {
          /* reported below as an unknown event */
        }
        const webhookId = String(req.headers['webhook-id'] ?? '-');
        const arrival: Arrival = {
          at: Date.now(),
          webhookId,
          event: String(payload.event ?? '?'),
          alertId: typeof payload.alert_id === 'number' ? payload.alert_id : undefined,
          device: String(payload.device_external_id ?? payload.device_id ?? '?'),
          standard,
          legacy,
        };
        arrivals.push(arrival);
        const rule = payload.details?.rule?.name ?? `rule ${payload.rule_id ?? '?'}`;
        say(
          `WEBHOOK ${arrival.event.padEnd(16)} alert #${arrival.alertId ?? '?'}  ${arrival.device}  ${rule}  ${payload.status ?? '?'}` +
            `  ${webhookId}  standard signature ${standard ? 'valid' : 'INVALID'}, legacy ${legacy ? 'valid' : 'INVALID'}`,
        );
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      },
      () => res.destroy(),
    );
  });
  const base = await listenLocal(server);
  return {
    server,
    url: `${base}/alerts`,
    arrivals,
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((r) => server.close(() => r()));
      // The platform's keep-alive connection would otherwise hold the server open.
      server.closeAllConnections();
      await Promise.race([closed, sleep(3_000)]);
    },
  };
}

// ------------------------------------------------------------------------------ SSE stream

interface StreamEvent {
  at: number;
  type: string;
  alert: Record<string, any>;
}

interface AlertStream {
  events: StreamEvent[];
  close(): Promise<void>;
}

async function openStream(base: string, apiKey: string, describe: (type: string, alert: Record<string, any>) => string): Promise<AlertStream> {
  const controller = new AbortController();
  const headerTimer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(`${base}/alerts/stream`, { headers: { 'X-API-Key': apiKey, accept: 'text/event-stream' }, signal: controller.signal });
  } catch (err) {
    throw new DemoError(`GET /alerts/stream: no answer (${err?.cause?.code ?? err?.name ?? err})`);
  } finally {
    clearTimeout(headerTimer);
  }
  if (!res.ok || !res.body) throw new ApiError('GET', '/alerts/stream', res.status, await res.text());
  const events: StreamEvent[] = [];
  const body = res.body;
  let connected!: () => void;
  const connectedOnce = new Promise<void>((r) => (connected = r));

  const handleBlock = ({ type, data, comments }: SseBlock) => {
    if (comments.includes('connected')) connected(); // other comments: heartbeats
    if (data === null) return;
    let alert: Record<string, any> = {};
    try {
      alert = JSON.parse(data);
    } catch {
      /* shown as is */
    }
    events.push({ at: Date.now(), type, alert });
    say(`SSE     ${describe(type, alert)}`);
  };

  const pump = (async () => {
    try {
      await readSse(body, handleBlock);
      if (!controller.signal.aborted) say('SSE     the stream ended (the platform closed it)');
    } catch (err) {
      if (!controller.signal.aborted) say(`SSE     the stream broke: ${err?.message ?? err}`);
    }
  })();

  // The platform writes ": connected" first; do not start before it (or 5 s).
  await Promise.race([connectedOnce, sleep(5_000)]);
  return {
    events,
    async close() {
      controller.abort();
      await Promise.race([pump, sleep(2_000)]);
    },
  };
}

// ------------------------------------------------------------------------------------ demo

interface Device {
  id: number;
  external_id: string;
  tags: string[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const between = (lo: number, hi: number) => round1(lo + Math.random() * (hi - lo));

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Last registered first: stream, receiver, then the platform.
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${err?.message ?? err}`);
      }
    }
  })();
  return cleaning;
}

/** The exit code and the verdict, printed last (after the cleanup's own lines). */
async function demo(): Promise<{ code: number; verdict: string }> {
  const settings = readSettings();
  const base = `http://127.0.0.1:${settings.port}`;
  note(`Watchpost demo — platform at ${base}`);

  // 1. The platform: the running one, or one of our own.
  let platform: Platform | undefined;
  const status = await readyStatus(base);
  if (status === 200) {
    say(`using the platform already running at ${base}`);
  } else if (status !== null || (await portInUse(settings.port))) {
    throw new DemoError(
      `something listens on 127.0.0.1:${settings.port} but ${base}/health/ready ${status === null ? 'does not answer' : `answers ${status}`}.\n` +
        `  If it is Watchpost starting up or unhealthy, wait or stop it; else run the demo on another port: PORT=3300 npm run demo`,
    );
  } else {
    platform = await startPlatform(settings.port, base);
  }
  const adminToken = platform ? readSettings().adminToken : settings.adminToken;
  if (!adminToken) {
    throw new DemoError('no ADMIN_TOKEN: set it in the environment or in .env (the one the running platform uses)');
  }

  // 2. The webhook receiver (its secret is known once the webhook is created).
  let secret = 'whsec_' + randomBytes(32).toString('base64');
  const receiver = await startReceiver(() => secret);
  cleanups.push(() => receiver.close());
  say(`webhook receiver listening on ${receiver.url}`);

  // 3. Tenant, devices, rules, webhook.
  const admin = new Api(base, { 'X-Admin-Token': adminToken });
  let org: { id: number; name: string };
  try {
    org = await admin.call('POST', '/orgs', { name: `Demo org ${new Date().toISOString().slice(0, 19).replace('T', ' ')}` });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      throw new DemoError(
        `the platform refused the admin token (401). The demo took ADMIN_TOKEN from ${settings.tokenSource};` +
          ' set ADMIN_TOKEN to the one the running platform uses (its .env or environment).',
      );
    }
    throw err;
  }
  const project = await admin.call<{ id: number; name: string }>('POST', `/orgs/${org.id}/projects`, { name: 'Greenhouses' });
  const key = await admin.call<{ api_key: string; prefix: string; scopes: string[] }>('POST', `/projects/${project.id}/api-keys`, {
    name: 'demo',
    scopes: ['ingest', 'read', 'write'],
  });
  say(`org #${org.id} "${org.name}", project #${project.id}, API key ${key.prefix}.… (scopes ${key.scopes.join(', ')})`);
  const api = new Api(base, { 'X-API-Key': key.api_key });

  const deviceTags = [
    ['greenhouse', 'north'],
    ['greenhouse', 'north'],
    ['greenhouse', 'south'],
  ];
  const devices: Device[] = [];
  for (let i = 0; i < deviceTags.length; i++) {
    devices.push(
      await api.call('POST', `/projects/${project.id}/devices`, {
        external_id: `demo-greenhouse-${i + 1}`,
        name: `Greenhouse ${i + 1}`,
        tags: deviceTags[i],
      }),
    );
  }
  say(`devices: ${devices.map((d) => `${d.external_id} (#${d.id}, ${d.tags.join('/')})`).join(', ')}`);

  const rules = [
    await api.call('POST', `/projects/${project.id}/rules`, {
      name: 'overheat',
      metric: 'temperature',
      operator: '>',
      threshold: 80,
      window_n: 5,
      required_k: 3,
      scope: 'ALL',
      severity: 'critical',
      cooldown_seconds: 0,
    }),
    await api.call('POST', `/projects/${project.id}/rules`, {
      name: 'dry-air',
      metric: 'humidity',
      operator: '<',
      threshold: 20,
      window_n: 3,
      required_k: 2,
      scope: 'TAG',
      tag: 'north',
    }),
  ];
  for (const r of rules) {
    say(`rule #${r.id} ${r.name}: ${r.metric} ${r.operator} ${r.threshold} in ${r.required_k} of ${r.window_n}, scope ${r.scope}${r.tag ? ` '${r.tag}'` : ''}, ${r.severity}, cooldown ${r.cooldown_seconds}s`);
  }

  let webhook: { id: number; url: string; secret: string };
  try {
    webhook = await api.call('POST', `/projects/${project.id}/webhooks`, { url: receiver.url, secret });
  } catch (err) {
    if (err instanceof ApiError && err.status === 400 && err.code === 'WEBHOOK.UNSAFE_URL') {
      throw new DemoError(
        `the running platform refuses the demo's local webhook receiver (400 WEBHOOK.UNSAFE_URL).\n` +
          '  Set WEBHOOK_ALLOW_PRIVATE_TARGETS=true in .env (local development only), restart the platform\n' +
          '  (npm start) and run the demo again; or stop it and let the demo start its own.',
      );
    }
    throw err;
  }
  if (webhook.secret && webhook.secret !== secret) {
    say('note: the platform answered with another secret than the one sent; verifying with its answer');
    secret = webhook.secret;
  }
  say(`webhook #${webhook.id} → ${webhook.url} (secret whsec_…, generated here)`);
  // The receiver goes away with the demo: later alerts would only retry into a closed port.
  let webhookDisabled = false;
  const disableWebhook = async () => {
    if (webhookDisabled) return;
    webhookDisabled = true;
    await api.call('POST', `/webhooks/${webhook.id}/disable`);
  };
  cleanups.push(() => disableWebhook().catch(() => undefined));

  // 4. The live stream.
  const deviceName = new Map(devices.map((d) => [d.id, d.external_id]));
  const ruleName = new Map<number, string>(rules.map((r) => [r.id as number, r.name as string]));
  const describe = (type: string, a: Record<string, any>) =>
    `${type.padEnd(16)} alert #${a.id ?? '?'}  ${deviceName.get(a.device_id) ?? `device ${a.device_id}`}  ` +
    `${a.details?.rule?.name ?? ruleName.get(a.rule_id) ?? `rule ${a.rule_id}`}  ${a.status ?? '?'}`;
  const stream = await openStream(base, key.api_key, describe);
  cleanups.push(() => stream.close());
  say('SSE     stream open (GET /alerts/stream)');

  // 5. Readings: one batch per device per second; device 1 runs hot for five of them.
  note('');
  say(`posting readings for ${TICKS} s (temperature °C / humidity %); ${devices[0].external_id} runs hot for five readings`);
  let rejectedOrFailed = 0;
  for (let tick = 0; tick < TICKS; tick++) {
    checkStop();
    const tickStart = Date.now();
    const ts = new Date().toISOString();
    const parts = await Promise.all(
      devices.map(async (d, i) => {
        const hot = i === 0 && HOT_TICKS.has(tick);
        const data = { temperature: hot ? between(85, 95) : between(20, 30), humidity: between(40, 60) };
        try {
          const res = await api.call<{ queued: number; rejected: unknown[] }>('POST', '/telemetry', {
            device_external_id: d.external_id,
            events: [{ ts, data, event_id: `demo-${tick}` }],
          });
          if (res.rejected?.length) {
            rejectedOrFailed++;
            return `${d.external_id.replace('demo-', '')} REJECTED ${JSON.stringify(res.rejected)}`;
          }
          return `${d.external_id.replace('demo-', '')} ${data.temperature.toFixed(1)}${hot ? '!' : ' '}/${data.humidity.toFixed(1)}`;
        } catch (err) {
          rejectedOrFailed++;
          return `${d.external_id.replace('demo-', '')} FAILED (${err.message})`;
        }
      }),
    );
    say(`readings ${String(tick + 1).padStart(2)}/${TICKS}  ${parts.join('  |  ')}${HOT_TICKS.has(tick) ? '   (! = hot)' : ''}`);
    await sleep(Math.max(0, 1_000 - (Date.now() - tickStart)));
  }

  // Wait until every alert seen has been triggered and resolved on both channels (or give up).
  const settled = () => {
    const triggered = new Set(stream.events.filter((e) => e.type === 'alert.triggered').map((e) => e.alert.id));
    if (!triggered.size) return false;
    for (const id of triggered) {
      if (!stream.events.some((e) => e.type === 'alert.resolved' && e.alert.id === id)) return false;
      if (!receiver.arrivals.some((a) => a.event === 'alert.triggered' && a.alertId === id)) return false;
      if (!receiver.arrivals.some((a) => a.event === 'alert.resolved' && a.alertId === id)) return false;
    }
    return true;
  };
  const settleDeadline = Date.now() + SETTLE_TIMEOUT_MS;
  if (!settled()) say(`readings done; waiting up to ${SETTLE_TIMEOUT_MS / 1000} s for alerts to resolve and reach the webhook`);
  while (!settled() && Date.now() < settleDeadline) {
    checkStop();
    await sleep(200);
  }

  // The platform records a delivery's outcome just after the receiver answered.
  type Delivery = { id: number; event: string; status: string; attempts: number; alert_id: number; last_status_code: number | null };
  let deliveries: Delivery[] = [];
  const deliveryDeadline = Date.now() + 5_000;
  for (;;) {
    checkStop();
    deliveries = await api.call<Delivery[]>('GET', `/projects/${project.id}/webhook-deliveries`);
    const busy = deliveries.some((d) => d.status === 'pending' || d.status === 'sending');
    if (!busy || Date.now() > deliveryDeadline) break;
    await sleep(300);
  }

  // 6. Summary.
  await stream.close();
  const count = (types: string[]) => {
    const by = new Map<string, number>();
    for (const t of types) by.set(t, (by.get(t) ?? 0) + 1);
    return [...by].map(([t, n]) => `${t} ×${n}`).join(', ') || 'none';
  };
  const validTriggers = receiver.arrivals.filter((a) => a.event === 'alert.triggered' && a.standard && a.legacy);
  const invalid = receiver.arrivals.filter((a) => !a.standard || !a.legacy);
  const sseTriggered = stream.events.filter((e) => e.type === 'alert.triggered');
  const both = sseTriggered.filter((e) => validTriggers.some((a) => a.alertId === e.alert.id));

  note('');
  note('Summary');
  note(`  readings posted:   ${TICKS * devices.length} (${TICKS} per device)${rejectedOrFailed ? `, ${rejectedOrFailed} rejected or failed` : ''}`);
  note(`  SSE stream:        ${count(stream.events.map((e) => e.type))}`);
  note(
    `  webhook receiver:  ${count(receiver.arrivals.map((a) => a.event))}; signatures: ` +
      (receiver.arrivals.length ? (invalid.length ? `${invalid.length} INVALID (${invalid.map((a) => a.webhookId).join(', ')})` : 'all valid (standard and legacy)') : '-'),
  );
  note(`  deliveries (GET /projects/${project.id}/webhook-deliveries):`);
  if (!deliveries.length) note('    none');
  else {
    note(`    ${'id'.padEnd(6)}${'event'.padEnd(18)}${'alert'.padEnd(8)}${'status'.padEnd(10)}${'attempts'.padEnd(10)}http`);
    for (const d of deliveries) {
      note(`    ${String(d.id).padEnd(6)}${d.event.padEnd(18)}${('#' + d.alert_id).padEnd(8)}${d.status.padEnd(10)}${String(d.attempts).padEnd(10)}${d.last_status_code ?? '-'}`);
    }
  }

  try {
    await disableWebhook();
    note(`  webhook #${webhook.id} disabled (its receiver lived in this process)`);
  } catch (err) {
    note(`  could not disable webhook #${webhook.id}: ${err.message}`);
  }

  note('');
  note('Next, with this key (the data stays in Postgres):');
  if (platform) note(`  # the platform the demo started is stopped at the end: run \`npm start\`${settings.port !== 3000 ? ` with PORT=${settings.port}` : ''} first`);
  note(`  export API=${base}`);
  note(`  export API_KEY=${key.api_key}`);
  note(`  export PROJECT_ID=${project.id}`);
  const hot = devices[0];
  note(`  curl -sS -w '\\n' "$API/projects/$PROJECT_ID/alerts?limit=5" -H "X-API-Key: $API_KEY"`);
  note(`  curl -sS -w '\\n' "$API/telemetry/devices/${hot.id}/telemetry?limit=3" -H "X-API-Key: $API_KEY"`);
  note(`  curl -sS -w '\\n' "$API/telemetry/stats?metric=temperature&window=1h" -H "X-API-Key: $API_KEY"`);
  note(`  curl -sS -w '\\n' "$API/projects/$PROJECT_ID/webhook-deliveries" -H "X-API-Key: $API_KEY"`);
  note(`  curl -sN $API/alerts/stream -H "X-API-Key: $API_KEY"`);
  note('');

  if (both.length) {
    const ids = [...new Set(both.map((e) => e.alert.id))].map((id) => `#${id}`).join(', ');
    return { code: 0, verdict: `OK: alert ${ids} triggered and arrived on the SSE stream and at the webhook with valid signatures.` };
  }
  const missing: string[] = [];
  if (!sseTriggered.length) missing.push('no alert.triggered on the SSE stream');
  if (!receiver.arrivals.some((a) => a.event === 'alert.triggered')) missing.push('no alert.triggered at the webhook');
  else if (!validTriggers.length) missing.push('the alert.triggered deliveries at the webhook did not carry valid signatures');
  if (sseTriggered.length && validTriggers.length) missing.push('the stream and the webhook saw different alerts');
  return { code: 1, verdict: `FAILED: ${missing.join('; ')}.${platform ? ` See ${path.relative(process.cwd(), LOG_FILE)}.` : ''}` };
}

async function main(): Promise<void> {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    stopping = true;
    console.log(`\n${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code = 1;
  let verdict = '';
  try {
    ({ code, verdict } = await demo());
  } catch (err) {
    if (interrupted) return; // the signal handler cleans up and exits
    if (err instanceof DemoError || err instanceof ApiError) console.error(`\ndemo: ${err.message}`);
    else console.error(`\ndemo: ${err?.stack ?? err}`);
    code = 1;
  }
  await cleanup();
  if (interrupted) return;
  if (verdict) console.log(verdict);
  process.exit(code);
}

void main();
