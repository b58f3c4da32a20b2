import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, signingHeaders, verifyLegacySignature, verifyStandardSignature } from './signing';

const body = JSON.stringify({ event: 'alert.triggered', alert_id: 42, status: 'firing', details: { note: 'ünïcode' } });
const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const plain = 'a plain shared secret';

describe('webhook signing', () => {
  it('produces exactly the headers DESIGN.md names, for one instant', () => {
    const now = new Date('2026-03-01T10:20:30.789Z');
    const headers = signingHeaders({ deliveryId: 17, secrets: [whsec], body, now });
    expect(Object.keys(headers).sort()).toEqual(
      ['X-Telemetry-Signature', 'X-Telemetry-Timestamp', 'webhook-id', 'webhook-signature', 'webhook-timestamp'].sort(),
    );
    expect(headers['webhook-id']).toBe('dlv_17');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(headers['X-Telemetry-Timestamp']).toBe('2026-03-01T10:20:30.000Z');
    expect(headers['X-Telemetry-Signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['a whsec_ secret', whsec, whsec],
    ['a plain secret, which the package only takes base64-encoded', plain, Buffer.from(plain).toString('base64')],
  ])('the Standard Webhooks signature verifies with the standardwebhooks package for %s', (_, secret, packageKey) => {
    const headers = signingHeaders({ deliveryId: 5, secrets: [secret], body });
    expect(() => new Webhook(packageKey).verify(body, headers)).not.toThrow();
    expect(verifyStandardSignature(secret, headers, body)).toBe(true);
  });

  it('matches the published Standard Webhooks test vector', () => {
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    expect(verifyStandardSignature(whsec, headers, '{"test": 2432232314}', 300, new Date(1614265330 * 1000))).toBe(true);
  });

  it('keys the legacy signature with the secret string as stored, whsec_ prefix included', () => {
    for (const secret of [whsec, plain]) {
      const headers = signingHeaders({ deliveryId: 9, secrets: [secret], body });
      const timestamp = headers['X-Telemetry-Timestamp'];
      const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.${body}`).digest('hex');
      expect(headers['X-Telemetry-Signature']).toBe(expected);
      expect(verifyLegacySignature(secret, headers, body)).toBe(true);
    }
  });

  it('fails both verifiers when the body, the secret or the id is tampered with', () => {
    const headers = signingHeaders({ deliveryId: 3, secrets: [whsec], body });
    const tampered = body.replace('42', '43');
    expect(verifyStandardSignature(whsec, headers, tampered)).toBe(false);
    expect(verifyLegacySignature(whsec, headers, tampered)).toBe(false);
    expect(() => new Webhook(whsec).verify(tampered, headers)).toThrow();
    const other = generateWebhookSecret();
    expect(verifyStandardSignature(other, headers, body)).toBe(false);
    expect(verifyLegacySignature(other, headers, body)).toBe(false);
    expect(verifyStandardSignature(whsec, { ...headers, 'webhook-id': 'dlv_4' }, body)).toBe(false);
  });

  it('reads headers case-insensitively and accepts any of several v1 signatures', () => {
    const headers = signingHeaders({ deliveryId: 8, secrets: [whsec], body });
    const shouted = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyStandardSignature(whsec, shouted, body)).toBe(true);
    expect(verifyLegacySignature(whsec, shouted, body)).toBe(true);
    const rotated = { ...headers, 'webhook-signature': `v1,bm90IGl0 v2,xyz ${headers['webhook-signature']}` };
    expect(verifyStandardSignature(whsec, rotated, body)).toBe(true);
    expect(verifyStandardSignature(whsec, { ...headers, 'webhook-signature': 'v1,bm90IGl0' }, body)).toBe(false);
  });

  it('while a rotation lasts, signs once per valid secret, newest first; the legacy header with the newest', () => {
    const newest = generateWebhookSecret();
    const secrets = [newest, whsec, plain];
    const headers = signingHeaders({ deliveryId: 21, secrets, body });
    const entries = headers['webhook-signature'].split(' ');
    expect(entries).toHaveLength(3);
    secrets.forEach((secret, i) => {
      // Each entry is exactly the one-secret signature of that secret, in the order given.
      expect(entries[i]).toBe(signingHeaders({ deliveryId: 21, secrets: [secret], body, now: new Date(Number(headers['webhook-timestamp']) * 1000) })['webhook-signature']);
      expect(verifyStandardSignature(secret, headers, body)).toBe(true);
    });
    // A receiver that knows any one of them verifies with the reference package.
    expect(() => new Webhook(newest).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(whsec).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(Buffer.from(plain).toString('base64')).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
    expect(verifyLegacySignature(newest, headers, body)).toBe(true);
    expect(verifyLegacySignature(whsec, headers, body)).toBe(false);
  });

  it('refuses to sign with no secret', () => {
    expect(() => signingHeaders({ deliveryId: 1, secrets: [], body })).toThrow();
  });

  it('rejects timestamps outside the tolerance, either way', () => {
    const signedAt = new Date('2026-03-01T10:00:00Z');
    const headers = signingHeaders({ deliveryId: 1, secrets: [whsec], body, now: signedAt });
    const at = (seconds: number) => new Date(signedAt.getTime() + seconds * 1000);
    expect(verifyStandardSignature(whsec, headers, body, 300, at(300))).toBe(true);
    expect(verifyStandardSignature(whsec, headers, body, 300, at(301))).toBe(false);
    expect(verifyStandardSignature(whsec, headers, body, 300, at(-301))).toBe(false);
    expect(verifyLegacySignature(whsec, headers, body, 300, at(300))).toBe(true);
    expect(verifyLegacySignature(whsec, headers, body, 300, at(301))).toBe(false);
  });

  it('rejects deliveries with missing headers', () => {
    expect(verifyStandardSignature(whsec, {}, body)).toBe(false);
    expect(verifyLegacySignature(whsec, {}, body)).toBe(false);
  });

  it('generates distinct whsec_ secrets of 32 random bytes', () => {
    const secrets = Array.from({ length: 20 }, generateWebhookSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});
