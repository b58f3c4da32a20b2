import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { Browser, launchChromium } from '../../scripts/headless-chromium';
import { RunningApp, startApp } from '../support/app';
import { createDevice, createKey, createTenant, Tenant } from '../support/tenant';
import { TEST_ADMIN_TOKEN } from '../support/test-env';
import { eventually, Received, WebhookReceiver } from '../support/webhook-receiver';

const SHOTS = path.resolve(__dirname, '../../test-output/console');
const HOSTILE = '<script>alert(1)</script>';
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_MAX_RETRIES: '3',
  WEBHOOK_TIMEOUT_MS: '1000',
  CIRCUIT_FAILURE_THRESHOLD: '2',
  CIRCUIT_RESET_TIMEOUT_MS: '600000',
  WEBHOOK_SWEEP_INTERVAL_MS: '500',
};

/** Whether a subscriber that knows only `secret` accepts the request (the reference package). */
const verifies = (secret: string, r: Received) => {
  try {
    new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};

/** The weekday (`mon`…) in `zone`, `daysAhead` days from now. */
const weekdayIn = (zone: string, daysAhead: number) =>
  new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short' }).format(new Date(Date.now() + daysAhead * 86_400_000)).toLowerCase();

/**
 * The web console in a real headless Chromium against the real platform: sign-in with the key
 * alone, devices, the rule form for every rule type with the API's messages beside the fields,
 * a live alert acknowledged, silenced from the alerts page and resolved, silences (one-off and
 * recurring in a time zone) listed and ended, a webhook's deliveries, circuit reset, secret
 * rotation, test event and retry, hostile names as text, and a revoked key back at sign-in.
 */
describe('web console in a browser', () => {
  let app: RunningApp;
  let browser: Browser;
  let page: Page;
  let t: Tenant;
  const sink = new WebhookReceiver();
  const problems: string[] = [];
  // confirm() questions a test expects next: accepted in order; any other dialog is a problem.
  const confirms: string[] = [];
  // Readings are stamped just before now, so the overview's last hour shows them.
  let clock = Date.now() - 10 * 60_000;

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  /** A `datetime-local` value `msFromNow` ahead, in the browser's own time zone. */
  const localInput = async (msFromNow: number) =>
    (await page.evaluate(
      `(() => { const d = new Date(Date.now() + ${msFromNow}); const p = (n) => String(n).padStart(2, '0'); return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()); })()`,
    )) as string;
  const send = (externalId: string, temperature: number) =>
    t.http.post('/telemetry?wait=true', { device_external_id: externalId, events: [{ ts: new Date((clock += 1000)).toISOString(), data: { temperature } }] });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [app, browser] = await Promise.all([startApp(ENV), launchChromium()]);
    await sink.start();
    t = await createTenant(app);
    page = await browser.context.newPage();
    // Anything the page's CSP blocks, any script error and any dialog (an injected alert()) fails the suite.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      if (d.type() === 'confirm' && confirms[0] === d.message()) {
        confirms.shift();
        void d.accept();
        return;
      }
      problems.push(`dialog: ${d.type()} ${d.message()}`);
      void d.dismiss();
    });
  }, 600_000);

  afterAll(async () => {
    await Promise.all([browser?.close(), app?.close(), sink.stop()]);
  });

  afterEach(() => {
    expect(problems).toEqual([]);
  });

  it('is served at /console with a strict CSP, and deep links load the same page', async () => {
    for (const p of ['/console', '/console/devices/123', '/console/alerts']) {
      const res = await fetch(app.url + p, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      const html = await res.text();
      expect(html).toMatch(/<script type="module" src="\/console\/assets\/app-[A-Z0-9]+\.js"><\/script>/);
      expect(html).not.toMatch(/<script>|<style>|https?:\/\//);
    }
    const html = await (await fetch(`${app.url}/console`)).text();
    const js = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1];
    const asset = await fetch(app.url + js, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${app.url}/console/assets/nope.js`)).status).toBe(404);
    const openapi = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/console', '/console/session']));
  });

  it("signs in by keyboard with the key alone, refusing a bad key with the API's message", async () => {
    // The console's one authenticated route tells a key's project and scopes, from the header only.
    const session = await t.http.get('/console/session');
    expect(session.status).toBe(200);
    expect(session.body).toEqual({ project_id: t.projectId, prefix: t.prefix, scopes: ['ingest', 'read', 'write'] });
    expect(session.headers.get('cache-control')).toBe('no-store');
    expect((await app.http.get('/console/session')).status).toBe(401);
    const ingestOnly = await createKey(app, t.projectId, ['ingest']);
    expect((await app.http.get('/console/session', { 'X-API-Key': ingestOnly.api_key })).status).toBe(403);

    await page.goto(`${app.url}/console`);
    expect(await page.getByLabel(/project id/i).count()).toBe(0);
    await page.getByLabel('API key').focus();
    // A key of the right shape whose secret is wrong.
    await page.keyboard.type(`${t.prefix}.${'A'.repeat(43)}`);
    await page.keyboard.press('Enter');
    await page.locator('.field-error', { hasText: 'invalid or revoked API key' }).waitFor();
    expect(await page.getByLabel('API key').getAttribute('aria-invalid')).toBe('true');
    // A key that may not read: the API says which scope it lacks.
    await page.getByLabel('API key').fill(ingestOnly.api_key);
    await page.keyboard.press('Enter');
    await page.locator('.field-error', { hasText: 'lacks the "read" scope' }).waitFor();
    await shot('sign-in');
    await page.getByLabel('API key').fill(t.key);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.getByTestId('session').textContent()).toBe(`project ${t.projectId} · key ${t.prefix}`);
    // The key is kept for the tab only, and never in the URL or the server's log.
    const stored = (await page.evaluate('({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), url: location.href, cookie: document.cookie })')) as Record<string, string>;
    expect(stored.local).not.toContain(t.key);
    expect(stored.session).toContain(t.key);
    expect(stored.url).not.toContain(t.key);
    expect(stored.cookie).toBe('');
    expect(app.proc.output()).not.toContain(t.key.split('.')[1]);
  });

  it('lists devices, a hostile name rendered as text, and opens one by a deep link', async () => {
    const plain = await createDevice(t, { name: 'Boiler room', tags: ['floor-2'] });
    const hostile = await createDevice(t, { name: HOSTILE, tags: ['<img src=x onerror=alert(2)>'] });
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('link', { name: 'Boiler room' }).waitFor();
    const link = page.getByRole('link', { name: HOSTILE });
    await link.waitFor();
    expect(await link.textContent()).toBe(HOSTILE);
    expect(await link.innerHTML()).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('img').count()).toBe(0);
    await page.getByLabel('Search name or id').fill('boiler');
    await eventually(() => page.locator('.vrow').count(), (n) => n === 1);
    await page.getByLabel('Search name or id').fill('');
    await page.getByLabel('Tag', { exact: true }).fill('floor-2');
    await eventually(() => page.locator('.vrow').count(), (n) => n === 1);

    await page.goto(`${app.url}/console/devices/${hostile.id}`);
    await page.getByRole('heading', { name: HOSTILE }).waitFor();
    expect(await page.title()).toContain(HOSTILE);
    await page.goto(`${app.url}/console/devices/${plain.id}`);
    await page.getByRole('heading', { name: 'Boiler room' }).waitFor();
    await page.getByText(plain.external_id).waitFor();
  });

  it("creates a threshold rule through the form, showing the API's 422 beside the bad field", async () => {
    await page.goto(`${app.url}/console/rules/new`);
    await page.getByLabel('Name', { exact: true }).fill(`hot ${HOSTILE}`);
    await page.getByLabel('Metric', { exact: true }).fill('temperature');
    await page.getByLabel('Operator').selectOption('>');
    await page.getByLabel('Threshold', { exact: true }).fill('80');
    await page.getByLabel('Window (n readings)').fill('0');
    await page.getByLabel('Cooldown (seconds)').fill('0');
    await page.getByLabel('Severity').selectOption('critical');
    await page.getByRole('button', { name: 'Create rule' }).click();
    const windowField = page.locator('.field', { has: page.getByLabel('Window (n readings)') });
    const error = windowField.locator('.field-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/window_n must not be less than 1/);
    expect(await page.getByLabel('Window (n readings)').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.field-error').count()).toBe(1);
    expect((await t.http.get(`/projects/${t.projectId}/rules`)).body).toEqual([]);

    await page.getByLabel('Window (n readings)').fill('1');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.waitForURL(/\/console\/rules\/\d+$/);
    const rules = (await t.http.get(`/projects/${t.projectId}/rules`)).body;
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ name: `hot ${HOSTILE}`, metric: 'temperature', operator: '>', threshold: 80, window_n: 1, required_k: 1, severity: 'critical', cooldown_seconds: 0 });
    await page.getByRole('heading', { name: `Rule: hot ${HOSTILE}` }).waitFor();
    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    await page.getByRole('link', { name: `hot ${HOSTILE}` }).waitFor();
    // Disable and enable again from the list.
    const row = page.locator(`[data-rule-id="${rules[0].id}"]`);
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await t.http.get(`/rules/${rules[0].id}`)).body.enabled).toBe(false);
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByRole('button', { name: 'Disable' }).waitFor();
    expect((await t.http.get(`/rules/${rules[0].id}`)).body.enabled).toBe(true);
  });

  it("creates a no-data rule and a held threshold rule with hysteresis, the API's messages beside their fields", async () => {
    const rulesNow = async () => (await t.http.get(`/projects/${t.projectId}/rules`)).body as { id: number; name: string }[];
    const before = (await rulesNow()).length;
    await page.goto(`${app.url}/console/rules/new`);
    await page.getByLabel('Type').selectOption('no_data');
    // The threshold fields give way to the no-data one.
    await page.getByLabel('Silent for (seconds)').waitFor();
    expect(await page.getByLabel('Threshold', { exact: true }).count()).toBe(0);
    await page.getByLabel('Name', { exact: true }).fill('gone quiet');
    await page.getByLabel('Silent for (seconds)').fill('3');
    await page.getByLabel('Severity').selectOption('info');
    await page.getByRole('button', { name: 'Create rule' }).click();
    const silentError = page.locator('.field', { has: page.getByLabel('Silent for (seconds)') }).locator('.field-error');
    await silentError.waitFor();
    expect(await silentError.textContent()).toMatch(/no_data_seconds must not be less than 5/);
    expect(await page.getByLabel('Silent for (seconds)').getAttribute('aria-invalid')).toBe('true');
    expect(await rulesNow()).toHaveLength(before);

    await page.getByLabel('Silent for (seconds)').fill('600');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.waitForURL(/\/console\/rules\/\d+$/);
    await page.getByRole('heading', { name: 'Rule: gone quiet' }).waitFor();
    const quiet = (await rulesNow()).find((r) => r.name === 'gone quiet')!;
    expect(quiet).toMatchObject({ type: 'no_data', metric: null, no_data_seconds: 600, operator: null, threshold: null, window_n: null, required_k: null, for_seconds: null, clear_threshold: null, severity: 'info', enabled: true });
    // Edited in the same form.
    await page.getByLabel('Silent for (seconds)').fill('900');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(async () => (await t.http.get(`/rules/${quiet.id}`)).body.no_data_seconds, (n) => n === 900);

    await page.goto(`${app.url}/console/rules/new`);
    await page.getByLabel('Name', { exact: true }).fill('warm, held');
    await page.getByLabel('Metric', { exact: true }).fill('temperature');
    await page.getByLabel('Operator').selectOption('>');
    await page.getByLabel('Threshold', { exact: true }).fill('70');
    await page.getByLabel('Hold for (seconds)').fill('30');
    // Above the threshold of a '>' rule: the API's 400 names the field, and it is shown there.
    await page.getByLabel('Clear threshold').fill('75');
    await page.getByLabel('Enabled').uncheck();
    await page.getByRole('button', { name: 'Create rule' }).click();
    const clearError = page.locator('.field', { has: page.getByLabel('Clear threshold') }).locator('.field-error');
    await clearError.waitFor();
    expect(await clearError.textContent()).toBe('clear_threshold must be at or below threshold for operator >');
    expect(await page.locator('.form-error').count()).toBe(0);
    await page.getByLabel('Clear threshold').fill('60');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByRole('heading', { name: 'Rule: warm, held' }).waitFor();
    const held = (await rulesNow()).find((r) => r.name === 'warm, held')!;
    expect(held).toMatchObject({ type: 'threshold', metric: 'temperature', operator: '>', threshold: 70, for_seconds: 30, clear_threshold: 60, no_data_seconds: null, enabled: false });

    // Both types in the list, each with its condition; the no-data rule disabled from there.
    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    const quietRow = page.locator(`[data-rule-id="${quiet.id}"]`);
    const heldRow = page.locator(`[data-rule-id="${held.id}"]`);
    await quietRow.waitFor();
    expect(await quietRow.locator('td').nth(1).textContent()).toBe('no_data');
    expect(await quietRow.locator('td').nth(2).textContent()).toBe('no reading for 900 s');
    expect(await heldRow.locator('td').nth(2).textContent()).toBe('1 of 1: temperature > 70 for 30 s, clears past 60');
    await heldRow.getByRole('button', { name: 'Enable' }).waitFor();
    await quietRow.getByRole('button', { name: 'Disable' }).click();
    await quietRow.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await t.http.get(`/rules/${quiet.id}`)).body.enabled).toBe(false);
    await shot('rules-1440');
  });

  it('shows an alert live without reloading, and acknowledges it', async () => {
    const device = await createDevice(t, { name: 'Kiln' });
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await page.locator('[data-stream-state="open"]').waitFor();
    await page.evaluate('window.__sameDocument = true');

    expect((await send(device.external_id, 95)).status).toBe(201);
    const row = page.locator('[data-alert-id]', { hasText: 'Kiln' });
    await row.waitFor({ timeout: 20_000 });
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await row.getAttribute('data-status')).toBe('firing');
    expect(await row.textContent()).toContain(`hot ${HOSTILE}`);
    await shot('alerts-1440');

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await eventually(() => row.getAttribute('data-status'), (s) => s === 'acknowledged');
    const alertId = Number(await row.getAttribute('data-alert-id'));
    expect((await t.http.get(`/alerts/${alertId}`)).body.status).toBe('acknowledged');

    // A change made elsewhere (another operator) arrives through the stream too.
    await t.http.post(`/alerts/${alertId}/resolve`);
    await eventually(() => row.count(), (n) => n === 0);
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await eventually(() => page.locator(`[data-alert-id="${alertId}"]`).getAttribute('data-status'), (s) => s === 'resolved');

  });

  it("shows a webhook's deliveries with their attempt log, and its circuit opening", async () => {
    const device = await createDevice(t, { name: 'Press' });
    const hook = (await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script('/dead', { status: 500 }) })).body;
    for (let i = 0; i < 3; i++) {
      await send(device.external_id, i % 2 ? 20 : 95);
    }
    await eventually(async () => (await t.http.get(`/webhooks/${hook.id}/circuit-status`)).body.circuit_breaker.state, (s) => s === 'open', 30_000);

    await page.goto(`${app.url}/console/webhooks/${hook.id}`);
    await page.getByRole('heading', { name: `Webhook ${hook.id}` }).waitFor();
    await page.locator('[data-testid="circuit-state"]', { hasText: 'open' }).waitFor();
    const delivery = page.locator('[data-delivery-id]:not([data-attempts="0"])').first();
    await delivery.waitFor();
    await delivery.getByRole('button', { name: /alert\./ }).click();
    const attempts = delivery.locator('.attempts table tbody tr');
    await attempts.first().waitFor();
    expect(await attempts.first().textContent()).toContain('500');
    await shot('webhook-1440');

    // The subscriber is back: resetting the circuit closes it and sends the waiting deliveries.
    sink.script('/dead', { status: 200 });
    await page.getByRole('button', { name: 'Reset circuit' }).click();
    await page.locator('[data-testid="circuit-state"]', { hasText: 'closed' }).waitFor();
    expect(await page.getByRole('button', { name: 'Reset circuit' }).isDisabled()).toBe(true);
    await page.locator('[data-delivery-id][data-status="success"]').first().waitFor();
    expect((await t.http.get(`/webhooks/${hook.id}/circuit-status`)).body.circuit_breaker.state).toBe('closed');

    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator('[data-testid="open-by-severity"][data-loaded="true"]').waitFor();
    await page.locator('.chart canvas').waitFor();
    expect(await page.getByTestId('device-count').textContent()).toBe('4');
    expect(await page.locator('.severities li', { hasText: 'critical' }).textContent()).toContain('1');
    // Two devices never sent a reading; four temperature readings arrived in the last hour.
    expect(await page.getByTestId('silent-count').textContent()).toBe('2');
    await page.locator('section', { has: page.getByRole('heading', { name: 'Silent devices' }) }).getByRole('link', { name: 'Boiler room' }).waitFor();
    await page.locator('p', { hasText: /, 4 in the last hour$/ }).waitFor();
    await shot('overview-1440');
  });

  it('rotates a webhook secret (shown once, the old one still valid), sends a test event and retries it', async () => {
    const old = `whsec_${randomBytes(32).toString('base64')}`;
    const hook = (await t.http.post(`/projects/${t.projectId}/webhooks`, { url: sink.script('/picky', { status: 400 }), secret: old, event_types: ['alert.triggered'] })).body;
    await page.goto(`${app.url}/console/webhooks/${hook.id}`);
    await page.getByRole('heading', { name: `Webhook ${hook.id}` }).waitFor();
    await page.getByRole('button', { name: 'Rotate' }).click();
    const shown = page.getByTestId('rotated-secret');
    await shown.waitFor();
    const fresh = (await shown.textContent())!;
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fresh).not.toBe(old);
    await page.getByText(/previous secret valid until \d{4}-\d\d-\d\d/).waitFor();

    // The test event's delivery appears in the list; during the grace both secrets verify it.
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByText(/Test delivery #\d+ queued/).waitFor();
    const row = page.locator('[data-delivery-id]', { hasText: 'webhook.test' });
    await row.waitFor();
    const [got] = await sink.waitFor('/picky', 1);
    expect(got.json).toMatchObject({ event: 'webhook.test', alert_id: null });
    expect(got.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(verifies(fresh, got)).toBe(true);
    expect(verifies(old, got)).toBe(true);
    // The subscriber refused it (a 400 fails at once): the list shows it failed, its log says why.
    await page.locator('[data-delivery-id][data-status="failed"]', { hasText: 'webhook.test' }).waitFor();
    await row.getByRole('button', { name: /webhook\.test/ }).click();
    const attempts = row.locator('.attempts tbody tr');
    await attempts.first().waitFor();
    expect(await attempts.count()).toBe(1);
    expect(await attempts.first().textContent()).toContain('400');

    // Fixed on the subscriber's side, it is sent again from the console, with the same id.
    sink.script('/picky', { status: 200 });
    await row.getByRole('button', { name: 'Retry' }).click();
    await page.locator('[data-delivery-id][data-status="success"]', { hasText: 'webhook.test' }).waitFor();
    await eventually(() => attempts.count(), (n) => n === 2);
    expect(await attempts.nth(1).textContent()).toContain('200');
    const again = await sink.waitFor('/picky', 2);
    expect(again[1].headers['webhook-id']).toBe(got.headers['webhook-id']);
    expect(await row.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await shot('webhook-rotated-1440');

    // The new secret was shown once: back on the page later, it is nowhere.
    await page.getByRole('link', { name: '← Webhooks' }).click();
    await page.getByRole('link', { name: hook.url }).click();
    await page.getByRole('heading', { name: `Webhook ${hook.id}` }).waitFor();
    await page.locator('[data-testid="circuit-state"]').waitFor();
    expect(await page.getByTestId('rotated-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(fresh);
  });

  it('silences an alert from the alerts page, lists a recurring silence in its time zone, and ends one', async () => {
    const oven = await createDevice(t, { name: 'Oven' });
    expect((await send(oven.external_id, 95)).status).toBe(201);
    await page.goto(`${app.url}/console/alerts`);
    const row = page.locator('[data-alert-id]', { hasText: 'Oven' });
    await row.waitFor();
    const alertId = Number(await row.getAttribute('data-alert-id'));
    const ruleId = (await t.http.get(`/alerts/${alertId}`)).body.rule_id as number;
    // Filters: another severity hides it; its device's id keeps it alone.
    await page.getByLabel('Severity').selectOption('info');
    await eventually(() => row.count(), (n) => n === 0);
    await page.getByLabel('Severity').selectOption('');
    await page.getByLabel('Device id').fill(String(oven.id));
    await page.getByLabel('Device id').press('Enter');
    await eventually(() => page.locator('[data-alert-id]').count(), (n) => n === 1);
    expect(await row.count()).toBe(1);

    await row.getByRole('button', { name: 'Silence…' }).click();
    await page.getByRole('heading', { name: 'New silence' }).waitFor();
    expect(await page.getByLabel('Rule ids').inputValue()).toBe(String(ruleId));
    expect(await page.getByLabel('Device ids').inputValue()).toBe(String(oven.id));
    await page.getByLabel('Comment').fill(`oven service ${HOSTILE}`);
    // A one-off silence needs an end: the API's message beside the field.
    await page.getByRole('button', { name: 'Create silence' }).click();
    await page.locator('.field', { has: page.getByLabel('Ends (your local time)') }).locator('.field-error', { hasText: 'ends_at is required' }).waitFor();
    const ends = await localInput(2 * 3_600_000);
    await page.getByLabel('Ends (your local time)').fill(ends);
    await page.getByRole('button', { name: 'Create silence' }).click();
    await page.getByRole('heading', { name: 'Silences' }).waitFor();
    const [oneOff] = (await t.http.get(`/projects/${t.projectId}/silences`)).body;
    expect(oneOff).toMatchObject({ matchers: { rule_ids: [ruleId], device_ids: [oven.id] }, recurrence: null, state: 'active', comment: `oven service ${HOSTILE}` });
    expect(oneOff.ends_at).toBe(await page.evaluate(`new Date(${JSON.stringify(ends)}).toISOString()`));
    const oneOffCard = page.locator(`[data-silence-id="${oneOff.id}"]`);
    await oneOffCard.waitFor();
    expect(await oneOffCard.locator('.badge').textContent()).toBe('active');
    expect(await oneOffCard.textContent()).toContain(`rules ${ruleId}; devices ${oven.id}`);
    expect(await oneOffCard.textContent()).toContain(`oven service ${HOSTILE}`);

    // The alert shows the silence that mutes it.
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await row.locator('.badge', { hasText: `silenced by ${oneOff.id}` }).waitFor();

    // A weekly window in Tokyo, on a day two days away there: not open now.
    const day = weekdayIn('Asia/Tokyo', 2);
    await page.getByRole('link', { name: 'Silences', exact: true }).click();
    await page.getByRole('link', { name: 'New silence' }).click();
    await page.getByLabel('info', { exact: true }).check();
    await page.getByLabel('Recurring window').check();
    await page.getByLabel(day, { exact: true }).check();
    await page.getByLabel('Start (HH:MM)').fill('02:30');
    await page.getByLabel('Duration (minutes)').fill('90');
    await page.getByLabel('Time zone').selectOption('Asia/Tokyo');
    await page.getByRole('button', { name: 'Create silence' }).click();
    await page.getByRole('heading', { name: 'Silences' }).waitFor();
    const recurring = ((await t.http.get(`/projects/${t.projectId}/silences`)).body as { id: number; recurrence: unknown }[]).find((s) => s.recurrence)!;
    expect(recurring).toMatchObject({ matchers: { severities: ['info'] }, recurrence: { days: [day], start: '02:30', duration_minutes: 90, timezone: 'Asia/Tokyo' }, ends_at: null, state: 'pending' });
    const recurringCard = page.locator(`[data-silence-id="${recurring.id}"]`);
    await recurringCard.waitFor();
    expect(await recurringCard.locator('.badge').textContent()).toBe('pending');
    expect(await recurringCard.textContent()).toContain(`every ${day} at 02:30 for 90 min (Asia/Tokyo)`);

    // Ended now, the one-off lists as expired.
    confirms.push('End this silence now?');
    await oneOffCard.getByRole('button', { name: 'End now' }).click();
    await oneOffCard.locator('.badge', { hasText: 'expired' }).waitFor();
    expect(confirms).toEqual([]);
    expect(await oneOffCard.getByRole('button', { name: 'End now' }).count()).toBe(0);
    expect((await t.http.get(`/silences/${oneOff.id}`)).body.state).toBe('expired');
    await page.getByLabel('State').selectOption('pending');
    await eventually(() => page.locator('[data-silence-id]').count(), (n) => n === 1);
    expect(await recurringCard.count()).toBe(1);
    await page.getByLabel('State').selectOption('');
    await oneOffCard.waitFor();
    await shot('silences-1440');

    // No longer muted, the alert is resolved from the alerts page.
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await row.waitFor();
    expect(await row.locator('.badge', { hasText: 'silenced' }).count()).toBe(0);
    await row.getByRole('button', { name: 'Resolve' }).click();
    await eventually(() => row.count(), (n) => n === 0);
    expect((await t.http.get(`/alerts/${alertId}`)).body.status).toBe('resolved');
  });

  it('fits a 390 px wide screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const p of ['/console', '/console/alerts', '/console/devices', '/console/rules/new', '/console/silences', '/console/silences/new', '/console/webhooks']) {
      await page.goto(app.url + p);
      await page.locator('#page-heading').waitFor();
      const width = await page.evaluate('document.documentElement.scrollWidth');
      expect({ page: p, width }).toEqual({ page: p, width: 390 });
    }
    await page.goto(`${app.url}/console/alerts`);
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await shot('alerts-390');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('opens orgs, projects and keys with the admin token', async () => {
    await page.goto(`${app.url}/console`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill(t.key);
    await page.getByLabel(/Admin token/).fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.field', { has: page.getByLabel(/Admin token/) }).locator('.field-error', { hasText: 'X-Admin-Token' }).waitFor();
    await page.getByLabel(/Admin token/).fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.getByLabel('New organisation name').fill(`Acme ${HOSTILE}`);
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await page.getByRole('button', { name: `Acme ${HOSTILE}` }).click();
    await page.getByLabel('New project name').fill('plant');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('button', { name: 'plant', exact: true }).click();
    await page.getByLabel('New key name').fill('gateway');
    await page.getByLabel('write').uncheck();
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.locator('code.secret').textContent())!;
    expect(key).toMatch(/^[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/);
    const orgs = (await app.admin.get('/orgs?limit=1000')).body as { id: number; name: string }[];
    const org = orgs.find((o) => o.name === `Acme ${HOSTILE}`)!;
    const project = ((await app.admin.get(`/orgs/${org.id}/projects`)).body as { id: number }[])[0];
    const keys = (await app.admin.get(`/projects/${project.id}/api-keys`)).body;
    expect(keys).toEqual([expect.objectContaining({ prefix: key.slice(0, 8), name: 'gateway', scopes: ['ingest', 'read'] })]);
  });

  it("returns to sign-in with the API's message when the key is revoked", async () => {
    const other = await createKey(app, t.projectId);
    await page.goto(`${app.url}/console`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill(other.api_key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect((await app.admin.delete(`/projects/${t.projectId}/api-keys/${other.prefix}`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 1500));
    // The next call the page makes is refused (the live stream's reconnect may be first).
    await page.getByRole('link', { name: 'Rules', exact: true }).click({ timeout: 2000 }).catch(() => undefined);
    await page.locator('[data-sign-in-message]', { hasText: 'invalid or revoked API key' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });
});
