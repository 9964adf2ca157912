import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadDataset, readRaw } from '../../src/data/index.js';
import { preprocessingFor } from '../../src/data/preprocessing.js';
import { encodeOnnxModel } from '../../src/engine/io/onnx/index.js';
import { applyPreprocessing } from '../../src/engine/preprocess.js';
import { graftEnsemble } from '../../src/ensemble/graft.js';
import { loadRunModel } from '../../src/ensemble/pipeline.js';
import { BRAIN_TYPES, COMBINE_MODES, finishConfig } from '../../src/search/arch.js';
import { buildNetwork } from '../../src/search/build.js';
import { parseSearchConfig } from '../../src/search/config.js';
import { Coordinator } from '../../src/search/coordinator.js';
import { Store } from '../../src/store/store.js';
import { InProcessExecutor } from '../helpers/in-process-executor.js';
import { maxAbsDiff, noisyNetwork, randomInput, runOnnx } from './helpers.js';

describe('ONNX export of search networks', () => {
  // Every brain under every combine mode, as the search builds them (adapter, hive, merger, head).
  for (const combine of COMBINE_MODES) {
    it(`a hive of all brain types combined by ${combine}`, async () => {
      const config = finishConfig({
        id: `all-${combine}`, gridRows: 1, gridCols: BRAIN_TYPES.length, brains: [...BRAIN_TYPES], dModel: 8, numHeads: 2, learningRate: 0.01,
        budgetScale: 1, activation: 'gelu', combineMode: combine, initScale: 1, dtype: 'float32', seqLen: 5, tokenDim: 3,
        numClasses: 4, parents: [], origin: 'random', mutations: [],
      });
      const built = buildNetwork(config, { inputShape: [13], numClasses: 4 }, 3);
      const net = noisyNetwork(built.spec, 3);
      const x = randomInput([13], 4);
      const loom = net.forward(x);
      const onnx = await runOnnx(encodeOnnxModel(net), x);
      expect(maxAbsDiff(loom.data, onnx.output)).toBeLessThan(1e-4);
    });
  }
});

describe('ONNX export of a grafted ensemble from a real search (iris)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'loom-onnx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes raw measurements, normalizes inside the graph and matches the Loom ensemble', async () => {
    const config = parseSearchConfig({
      name: 'onnx-ensemble',
      seed: 3,
      data: { ref: 'iris' },
      population: 4,
      generations: 1,
      elite: 1,
      training: { epochs: 3, batchSize: 16 },
      generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono', '1x4 Wide'], maxBrains: 4 },
    });
    const store = Store.open(join(dir, 'runs.db'));
    try {
      const summary = await new Coordinator({ store, executor: new InProcessExecutor() }).start(config, 'run-onnx');
      expect(summary.status).toBe('finished');
      const models = store.listModels('run-onnx').filter((m) => m.status === 'done').sort((a, b) => (b.valAccuracy ?? 0) - (a.valAccuracy ?? 0));
      expect(models.length).toBeGreaterThanOrEqual(3);
      const members = models.slice(0, 3).map((m, k) => ({ network: loadRunModel(store, 'run-onnx', m.modelId), weight: [0.5, 0.3, 0.2][k] as number, modelId: m.modelId }));
      const ensemble = graftEnsemble(members);

      const data = loadDataset('iris', { splitSeed: config.data.splitSeed });
      const preprocessing = preprocessingFor(data);
      expect(preprocessing.normalization.kind).toBe('zscore');
      const raw = readRaw('iris');
      const rows = Array.from({ length: raw.count }, (_, i) => Array.from(raw.x.subarray(i * 4, (i + 1) * 4)));
      const loom = ensemble.forward({ data: applyPreprocessing(preprocessing, rows), shape: [rows.length, 4] });
      const onnx = await runOnnx(encodeOnnxModel(ensemble, { preprocessing }), { data: raw.x, shape: [raw.count, 4] });
      expect(maxAbsDiff(loom.data, onnx.output)).toBeLessThan(1e-4);
      // Labels from the graph's ArgMax are Loom's predicted classes, and they are right far above chance on raw rows.
      const loomLabels = rows.map((_, i) => {
        const p = Array.from(loom.data.subarray(i * 3, (i + 1) * 3));
        return p.indexOf(Math.max(...p));
      });
      expect(Array.from(onnx.label ?? [], Number)).toEqual(loomLabels);
      const correct = loomLabels.filter((l, i) => l === raw.y[i]).length / raw.count;
      expect(correct).toBeGreaterThan(0.7);

      // The same ensemble through `loom graft --format onnx` (the run's own preprocessing stored in the graph).
      const out = join(dir, 'ensemble.onnx');
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        const code = await main(['graft', 'run-onnx', '--db', join(dir, 'runs.db'), '--members', members.map((m) => m.modelId).join(','), '--weights', '0.5,0.3,0.2', '--out', out, '--format', 'onnx']);
        expect(code).toBe(0);
      } finally {
        log.mockRestore();
      }
      const viaCli = await runOnnx(readFileSync(out), { data: raw.x, shape: [raw.count, 4] });
      expect(maxAbsDiff(loom.data, viaCli.output)).toBeLessThan(1e-4);
    } finally {
      store.close();
    }
  }, 120_000);
});
