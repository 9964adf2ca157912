import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

/** dist/ is built by `npm install` (prepare); build it here when a checkout has not been installed since. */
export function ensureBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'index.js')) && existsSync(join(ROOT, 'dist', 'browser', 'loom.js'))) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-lib.mjs')], { cwd: ROOT, stdio: 'pipe' });
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs')], { cwd: ROOT, stdio: 'pipe' });
}
