/**
 * Webhook signatures, both ways DESIGN.md names: Standard Webhooks and the legacy
 * X-Telemetry-* pair that clients of the old system still check.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_SECONDS = 300;

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface SigningInput {
  deliveryId: number;
  /** Every secret valid now, newest first (more than one while a rotation's grace lasts). */
  secrets: readonly string[];
  body: string;
  now?: Date;
}

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Standard Webhooks keys with the decoded `whsec_` payload, so secrets are portable to its libraries. */
function standardKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** The old system keyed with the stored string itself, prefix and all. */
function legacyKey(secret: string): Buffer {
  return Buffer.from(secret, 'utf8');
}

function standardSignature(secret: string, webhookId: string, timestamp: string, body: string): string {
  return createHmac('sha256', standardKey(secret)).update(`${webhookId}.${timestamp}.${body}`).digest('base64');
}

function legacySignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', legacyKey(secret)).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * Both signatures cover the same instant; the ISO form drops sub-second precision so a
 * receiver comparing the two timestamps sees them agree. `webhook-signature` carries one
 * `v1,` entry per valid secret, newest first, so a receiver that knows any of them verifies
 * (Standard Webhooks' way of rotating); the legacy header has room for one: the newest.
 */
export function signingHeaders(input: SigningInput): Record<string, string> {
  if (!input.secrets.length) throw new Error('a delivery needs at least one secret to be signed');
  const seconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const webhookId = `dlv_${input.deliveryId}`;
  const unix = String(seconds);
  const iso = new Date(seconds * 1000).toISOString();
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': unix,
    'webhook-signature': input.secrets.map((secret) => `v1,${standardSignature(secret, webhookId, unix, input.body)}`).join(' '),
    'X-Telemetry-Timestamp': iso,
    'X-Telemetry-Signature': legacySignature(input.secrets[0], iso, input.body),
  };
}

function header(headers: HeaderBag, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function withinTolerance(signedAtMs: number, toleranceSeconds: number, now: Date): boolean {
  return Number.isFinite(signedAtMs) && Math.abs(now.getTime() - signedAtMs) <= toleranceSeconds * 1000;
}

/** Comparing the encoded strings, not decoded bytes, so lenient base64 decoding cannot widen what matches. */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Accepts any matching `v1,` entry, as the spec lets senders list several while rotating
 * keys; the timestamp window limits replays.
 */
export function verifyStandardSignature(
  secret: string,
  headers: HeaderBag,
  body: string,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  now: Date = new Date(),
): boolean {
  const webhookId = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!webhookId || !timestamp || !signatures || !/^\d+$/.test(timestamp)) return false;
  if (!withinTolerance(Number(timestamp) * 1000, toleranceSeconds, now)) return false;
  const expected = standardSignature(secret, webhookId, timestamp, body);
  let matched = false;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    // No early exit: every entry costs the same whether or not an earlier one matched.
    if (sameText(entry.slice(comma + 1), expected)) matched = true;
  }
  return matched;
}

export function verifyLegacySignature(
  secret: string,
  headers: HeaderBag,
  body: string,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  now: Date = new Date(),
): boolean {
  const timestamp = header(headers, 'x-telemetry-timestamp');
  const signature = header(headers, 'x-telemetry-signature');
  if (!timestamp || !signature) return false;
  if (!withinTolerance(Date.parse(timestamp), toleranceSeconds, now)) return false;
  return sameText(signature, legacySignature(secret, timestamp, body));
}
