import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './build.js';

const run = promisify(execFile);

/** Every script in examples/ runs with plain node (no tsx), importing the package by name, and exits 0. */
describe('examples/', () => {
  beforeAll(() => ensureBuilt(), 300_000);
  const scripts = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.mjs'));

  it('has examples', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(3);
  });

  for (const script of scripts) {
    it(script, async () => {
      const { stdout } = await run(process.execPath, [join(ROOT, 'examples', script)], { cwd: ROOT, timeout: 120_000 });
      expect(stdout.trim().length).toBeGreaterThan(0);
    }, 150_000);
  }
});
