import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { ADVISORY_LOCKS } from './advisory-locks';

const MIGRATIONS_DIR = join(__dirname, '..', '..', '..', 'migrations');

/** Every literal first key of an advisory-lock call in the migrations' SQL, with its file. */
function keysInMigrations(): { file: string; key: number }[] {
  const found: { file: string; key: number }[] = [];
  for (const file of readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+-.*\.ts$/.test(f))) {
    const text = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
    for (const m of text.matchAll(/pg_(?:try_)?advisory_(?:xact_)?lock(?:_shared)?\(\s*(\d+)/g)) {
      found.push({ file, key: Number(m[1]) });
    }
  }
  return found;
}

describe('advisory-lock keys', () => {
  it('are distinct', () => {
    const keys = Object.values(ADVISORY_LOCKS);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('match the literals the migrations take', () => {
    const used = keysInMigrations();
    expect(used).toEqual(
      expect.arrayContaining([
        { file: '1764000000001-telemetry.ts', key: ADVISORY_LOCKS.readingPartitions },
        { file: '1764000000004-metric-rollups.ts', key: ADVISORY_LOCKS.projectRollups },
      ]),
    );
    const listed = new Set<number>(Object.values(ADVISORY_LOCKS));
    expect(used.filter((u) => !listed.has(u.key))).toEqual([]);
  });
});
