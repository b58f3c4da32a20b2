/**
 * Builds the web console (src/modules/console/web) into dist/console: one hashed script, one
 * hashed stylesheet and index.html naming them. Run by `npm run build` after tsc; see
 * docs/console.md for the stack and the size budget.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const ROOT = path.resolve(__dirname, '../..');
const WEB = path.join(ROOT, 'src/modules/console/web');
const OUT = path.join(ROOT, 'dist/console');
/** The first load's budget (issue 19): compressed JS + CSS. A build over it fails. */
const BUDGET_GZIP_BYTES = 150 * 1024;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(path.join(OUT, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(WEB, 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: path.join(OUT, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: path.join(WEB, 'tsconfig.json'),
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`console build produced ${outputs.join(', ')}`);
  const html = readFileSync(path.join(WEB, 'index.html'), 'utf8').replace('%SCRIPT%', `/console/assets/${js}`).replace('%STYLES%', `/console/assets/${css}`);
  writeFileSync(path.join(OUT, 'index.html'), html);
  const sizes = [js, css].map((f) => {
    const body = readFileSync(path.join(OUT, 'assets', f));
    return { file: f, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
  writeFileSync(path.join(OUT, 'sizes.json'), JSON.stringify(sizes, null, 2));
  const total = sizes.reduce((sum, f) => sum + f.gzip, 0);
  process.stdout.write(`console: ${sizes.map((f) => `${f.file} ${kb(f.raw)} raw, ${kb(f.gzip)} gzip`).join('; ')}; first load ${kb(total)} gzip (budget ${kb(BUDGET_GZIP_BYTES)})\n`);
  if (total > BUDGET_GZIP_BYTES) throw new Error(`the console's first load is ${kb(total)} gzip, over its budget of ${kb(BUDGET_GZIP_BYTES)}`);
}

main().catch((err) => {
  process.stderr.write(`console build failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
