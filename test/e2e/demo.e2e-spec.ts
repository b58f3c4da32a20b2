import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { RunningApp, startApp } from '../support/app';
import { TEST_ADMIN_TOKEN } from '../support/test-env';

/** `npm run demo` against a running platform: it must see an alert on the stream and at its webhook. */
describe('npm run demo', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates a tenant, trips a rule and shows the alert on the stream and at the signed webhook', async () => {
    const demo = spawn(process.execPath, ['dist/scripts/demo.js'], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, PORT: new URL(app.url).port, ADMIN_TOKEN: TEST_ADMIN_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    demo.stdout!.on('data', (d) => (out += d));
    demo.stderr!.on('data', (d) => (out += d));
    const [code] = await once(demo, 'exit');
    expect({ code, tail: out.slice(-1500) }).toMatchObject({ code: 0 });
    expect(out).toMatch(/SSE\s+alert\.triggered/);
    expect(out).toMatch(/WEBHOOK alert\.triggered.*standard signature valid, legacy valid/);
    expect(out).toContain('OK: alert');
  });
});
