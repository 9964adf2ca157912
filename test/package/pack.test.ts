import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './build.js';

const run = promisify(execFile);
const npm = (args: string[], cwd: string) =>
  run('npm', args, { cwd, timeout: 240_000, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024 });

/**
 * The package as a user gets it: `npm pack`'s tarball installed into a fresh project outside the repository,
 * imported by name from plain Node (no tsx), training and predicting. Installed with --ignore-scripts and
 * --prefer-offline: no native SQLite build (importing the engine API must not need it) and no network when the
 * npm cache has the dependencies.
 */
describe('npm pack → install in a fresh project → import and predict', () => {
  let dir: string;
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'loom-pack-'));
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('works without tsx and without the SQLite binding', async () => {
    await npm(['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const project = join(dir, 'app');
    await run('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'loom-user', version: '1.0.0', type: 'module', private: true }));
    await npm(['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball as string)], project);
    writeFileSync(
      join(project, 'main.mjs'),
      `import { createRequire } from 'node:module';
import { Network, Rng, train, loadModel, predict, search, exportOnnx, encodeModel, sequentialNetworkSpec, tensor, encodeTrainState, decodeTrainState } from 'loom';
const spec = sequentialNetworkSpec([2], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }]);
const net = new Network(spec, new Rng(1));
const xs = [], ys = [];
for (let i = 0; i < 64; i++) { const a = (i % 8) / 4 - 1, b = Math.floor(i / 8) / 4 - 1; xs.push(a, b); ys.push(a + b > 0 ? 1 : 0); }
const data = { x: tensor([64, 2], xs), y: Int32Array.from(ys) };
const options = { epochs: 40, batchSize: 16, learningRate: 0.05, seed: 1 };
train(net, data, options);
// Paused halfway through an epoch, its state through bytes, resumed: the same network as the run without a pause.
const twin = new Network(spec, new Rng(1));
const first = train(twin, data, { ...options, pauseAt: 15.5 });
train(twin, data, { ...options, resume: decodeTrainState(encodeTrainState(first.paused)) });
const twinParams = twin.params();
const model = loadModel(encodeModel(net, 'loom'));
const out = predict(model, [[0.9, 0.8], [-0.9, -0.7]]);
const onnx = exportOnnx(net);
const require = createRequire(import.meta.url);
console.log(JSON.stringify({
  labels: out.map((p) => p.label),
  onnxBytes: onnx.length,
  search: typeof search,
  paused: first.stopReason,
  resumedSame: net.params().every((p, i) => p.value.every((v, j) => v === twinParams[i].value[j])),
  tsx: process.execArgv.join(' ') + Object.keys(require.cache).filter((k) => k.includes('/tsx/')).join(' '),
  sqlite: Object.keys(require.cache).some((k) => k.includes('better-sqlite3')),
}));
`,
    );
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: project, timeout: 60_000 });
    const result = JSON.parse(stdout.trim().split('\n').pop() as string) as { labels: string[]; onnxBytes: number; search: string; paused: string; resumedSame: boolean; tsx: string; sqlite: boolean };
    expect(result.labels).toEqual(['1', '0']);
    expect(result.onnxBytes).toBeGreaterThan(100);
    expect(result.search).toBe('function');
    expect(result.paused).toBe('paused');
    expect(result.resumedSame).toBe(true);
    expect(result.tsx).toBe('');
    expect(result.sqlite).toBe(false);
  }, 300_000);
});
