import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';

/** Every `*.module.ts` under src, recursively. */
function moduleFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return moduleFiles(path);
    return name.endsWith('.module.ts') ? [path] : [];
  });
}

/** The class names listed in a module file's `providers: [...]` (object providers by their `provide`). */
function providersOf(text: string): string[] {
  const list = /providers:\s*\[([\s\S]*?)\]\s*,?\s*(?:\n\s*[a-z]+:|\}\))/.exec(text)?.[1] ?? '';
  return [...list.matchAll(/provide:\s*([A-Za-z_]+)|^\s*([A-Z][A-Za-z0-9_]*)\s*(?:,|$)/gm)].map((m) => m[1] ?? m[2]);
}

/**
 * A provider class declared in two modules is two instances in a process that loads both
 * (ROLE=all), each with its own local state: share it by importing the module that declares it.
 */
describe('Nest modules', () => {
  it('declare each provider class once', () => {
    const root = join(__dirname);
    const declaredIn = new Map<string, string[]>();
    for (const file of moduleFiles(root)) {
      const text = readFileSync(file, 'utf8').replace(/providers:\s*\[([^\]\n]*)\]/g, (_, l: string) => `providers: [\n${l.split(',').join(',\n')}\n]`);
      for (const p of providersOf(text).filter((name) => !name.startsWith('APP_'))) declaredIn.set(p, [...(declaredIn.get(p) ?? []), relative(root, file)]);
    }
    expect(declaredIn.get('WebhookCircuits')).toHaveLength(1);
    expect([...declaredIn].filter(([, files]) => files.length > 1)).toEqual([]);
  });
});
