import { spawnSync } from 'node:child_process';
import path from 'node:path';

// `.env.example` and the configuration tables (README, docs/configuration.md) are what a user
// configures from: they must list every variable of the env schema with its real default.
describe('configuration documentation', () => {
  it('.env.example, the README and docs/configuration.md match the env schema', () => {
    const root = path.resolve(__dirname, '../..');
    const run = spawnSync(process.execPath, ['dist/scripts/env-docs.js', '--check'], { cwd: root, encoding: 'utf8' });
    expect(run.stderr + run.stdout).toContain('match the env schema');
    expect(run.status).toBe(0);
  });
});
