#!/usr/bin/env node
// Builds the optional native kernels (native/loom_native.c, a Node-API addon: AVX2 + FMA matrix multiply, LSTM
// forward, AdamW) with node-gyp into build/native/loom_native.node (run by `npm install` through the `install` script, also when Loom is installed as a dependency). It
// never fails the install: without a compiler, node-gyp or Node's headers it prints one line and Loom uses the
// WebAssembly kernels instead. Headers come from this Node's own install (npm_config_nodedir when set, as .ci/run
// does for Node 24, else the prefix the running node lives under); node-gyp is never allowed to download them.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'native', 'loom_native.node');
const skip = (why) => {
  console.warn(`loom: native kernel not built (${why}); the WebAssembly kernels will be used`);
  process.exit(0);
};

// A failed build must not leave an earlier one behind, so the loader's notice tells the truth.
try {
  rmSync(out, { force: true });
} catch (err) {
  skip(`cannot remove the old ${out}: ${err.message}`);
}
if (process.env.LOOM_SKIP_NATIVE === '1') skip('LOOM_SKIP_NATIVE=1');

/**
 * node-gyp: the npm package when installed, else the copy bundled with the npm running this install, with this
 * Node, or with the first npm on PATH (a Node from scripts/install-node.sh has no npm of its own).
 */
function findNodeGyp() {
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // not a dependency; try npm's own copy
  }
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const npm = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'npm')).find((p) => existsSync(p));
  // bin/npm links to npm/bin/npm-cli.js; node-gyp sits in npm/node_modules.
  if (npm) candidates.push(join(dirname(realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((p) => existsSync(p));
}

/** A directory whose include/node has node_api.h for this Node. */
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, dirname(dirname(process.execPath)), '/usr', '/usr/local'].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')) && existsSync(join(d, 'include', 'node', 'common.gypi')));
}

function build() {
  const gyp = findNodeGyp();
  if (!gyp) skip('node-gyp not found');
  const nodedir = findNodeDir();
  if (!nodedir) skip(`no Node headers (include/node/node_api.h) under npm_config_nodedir or ${dirname(dirname(process.execPath))}`);
  const res = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--directory', join(root, 'native')], {
    encoding: 'utf8',
    timeout: 300_000,
    // No network: node-gyp only reads the headers it was pointed at.
    env: { ...process.env, npm_config_nodedir: nodedir, npm_config_offline: 'true' },
  });
  const built = join(root, 'native', 'build', 'Release', 'loom_native.node');
  if (res.status !== 0 || !existsSync(built)) {
    const lines = `${res.stderr ?? ''}\n${res.error?.message ?? ''}`.split('\n').map((l) => l.trim());
    const reason = lines.filter((l) => /error/i.test(l) && !/^gyp (info|ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok))/.test(l))[0] ?? `node-gyp exited with ${res.status}`;
    skip(reason.slice(0, 200));
  }
  mkdirSync(dirname(out), { recursive: true });
  copyFileSync(built, out);
  console.log(`loom: built ${out}`);
}

// Whatever goes wrong, the install goes on.
try {
  build();
} catch (err) {
  skip(err instanceof Error ? err.message : String(err));
}
