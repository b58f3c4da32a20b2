import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { renderSnapshots, repoRoot, SNAPSHOT_DIR } from '../../scripts/sql-snapshots';

const dir = path.join(repoRoot(__dirname), SNAPSHOT_DIR);
const committed = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();

/**
 * The committed SQL snapshots are the statements the code builds today: a change to the
 * writer's insert, the rollup catch-up or the analytics queries must come with its snapshot
 * diff (`npm run sql:snapshots` rewrites them; review the diff before committing).
 */
describe(`SQL snapshots (${SNAPSHOT_DIR}/*.sql)`, () => {
  let generated: Map<string, string>;
  beforeAll(async () => {
    generated = await renderSnapshots();
  });

  it('cover exactly the generated files', () => {
    expect(committed).toEqual([...generated.keys()].sort());
  });

  it.each(committed)('%s is what the code generates (else run npm run sql:snapshots)', (name) => {
    expect(generated.get(name)).toBe(readFileSync(path.join(dir, name), 'utf8'));
  });

  it('come out the same on every run', async () => {
    expect(await renderSnapshots()).toEqual(generated);
  });
});
