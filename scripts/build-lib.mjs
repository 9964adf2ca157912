#!/usr/bin/env node
// Compiles src/ to dist/ (JavaScript + .d.ts, tsconfig.build.json) so the package imports without tsx, then copies
// what tsc does not: the worker-thread bootstraps (*.mjs, their `./x.ts` imports pointed at the compiled `./x.js`)
// and the dashboard's static pages. Run by `prepare`; skipped when TypeScript is not installed.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
} catch {
  console.warn('loom: typescript is not installed; skipping the library build (dist/)');
  process.exit(0);
}
// tsc still writes every file when it finds type errors; those are `npm run typecheck`'s to report, so they warn
// here instead of failing an install (prepare runs on every `npm install`).
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch {
  console.warn('loom: the library build reported type errors (above); dist/ was written anyway');
}

const src = join(root, 'src');
const dist = join(root, 'dist');
function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.mjs')) {
      const out = join(dist, relative(src, path));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, readFileSync(path, 'utf8').replace(/(import\(\s*'\.{1,2}\/[^']+)\.ts'/g, "$1.js'"));
    }
  }
}
walk(src);
cpSync(join(src, 'dashboard', 'web'), join(dist, 'dashboard', 'web'), { recursive: true });
console.log(`loom: built ${dist}`);
