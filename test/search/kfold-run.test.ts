import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataOptions, loadDataset, splitTensors } from '../../src/data/index.js';
import { evaluate } from '../../src/engine/eval.js';
import { readModelFile } from '../../src/engine/io/files.js';
import { pickModel } from '../../src/engine/io/model.js';
import type { ParallelSpec } from '../../src/engine/layers/parallel.js';
import { finishRun, graftRun } from '../../src/ensemble/pipeline.js';
import { AUTO_KFOLDS, parseSearchConfig, resolveAutoKFold } from '../../src/search/config.js';
import { Coordinator } from '../../src/search/coordinator.js';
import { Store } from '../../src/store/store.js';
import { InProcessExecutor } from '../store/helpers/reliability.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-kfold-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a search with data.kfold on iris', () => {
  it('evolves and ensembles bagged models on out-of-fold predictions, and exports a graft that scores as analysed', async () => {
    const config = parseSearchConfig({
      name: 'iris-kfold-test',
      seed: 4,
      data: { ref: 'iris', kfold: 3 },
      population: 4,
      generations: 2,
      elite: 1,
      training: { epochs: 4, batchSize: 16 },
      generator: { dModels: [8], gridShapes: ['1x1 Mono'], maxBrains: 2, lrMin: 0.005, lrMax: 0.02 },
    });
    const store = Store.open(join(dir, 'runs.db'));
    const executor = new InProcessExecutor();
    try {
      const summary = await new Coordinator({ store, executor }).start(config, 'run-kfold');
      expect(summary.status).toBe('finished');
      expect(executor.started.length).toBeGreaterThanOrEqual(4);

      const dataset = loadDataset('iris', dataOptions(config.data));
      const plain = loadDataset('iris', { splitSeed: config.data.splitSeed });
      const done = store.listModels('run-kfold').filter((m) => m.status === 'done');
      expect(done.length).toBeGreaterThanOrEqual(4);
      // Every job carried the fold count: validation predictions cover every non-test row (out of fold); the test
      // split is the usual one.
      const val = store.getPredictions('run-kfold', 'val');
      expect(val.numSamples).toBe(plain.train.count + plain.val.count);
      expect(store.getPredictions('run-kfold', 'test').numSamples).toBe(plain.test.count);

      const finished = finishRun(store, 'run-kfold', { outDir: join(dir, 'out') });
      const chosen = finished.analysis.chosen;
      expect(finished.graftTestAccuracy).toBeCloseTo(chosen.testAccuracy, 12);
      const exported = pickModel(readModelFile(join(dir, 'out', 'ensemble.loom'))).network;
      // Each chosen member is a bag of 3 fold networks, flattened into one mixture.
      expect((exported.layers[0]?.spec as ParallelSpec).branches.length - 1).toBe(3 * finished.ensemble.members.length);
      expect(evaluate(exported, splitTensors(dataset, dataset.test)).accuracy).toBeCloseTo(chosen.testAccuracy, 12);
      // A graft's validation figure is out-of-fold too (scoring it on the rows its bags trained on would be in-sample).
      const graft = graftRun(store, 'run-kfold', { members: chosen.members, weights: chosen.weights, dataset });
      expect(graft.valAccuracy).toBeCloseTo(chosen.valAccuracy, 12);
      expect(graft.testAccuracy).toBeCloseTo(chosen.testAccuracy, 12);
    } finally {
      store.close();
    }
  }, 120_000);
});

describe('data.kfold "auto"', () => {
  const config = (ref: string, limit?: number) =>
    parseSearchConfig({ name: 'auto', seed: 2, data: { ref, kfold: 'auto', ...(limit ? { limit } : {}) }, population: 2, generations: 1, training: { epochs: 1 } });

  it('is k-fold (5 folds) on a table with at most 2,000 non-test rows, a plain split above, decided once from the data', () => {
    const small = config('iris');
    expect(small.data).toMatchObject({ autoKFold: AUTO_KFOLDS });
    expect(small.data.kfold).toBeUndefined();
    const resolved = resolveAutoKFold(small);
    expect(resolved.data.kfold).toBe(AUTO_KFOLDS);
    expect(resolved.data).not.toHaveProperty('autoKFold');
    // 2,400 digits: 85 % of them (2,040) are more than k-fold takes.
    const large = resolveAutoKFold(config('mnist', 2400));
    expect(large.data).not.toHaveProperty('kfold');
    expect(large.data).not.toHaveProperty('autoKFold');
    expect(resolveAutoKFold(config('mnist', 2300)).data.kfold).toBe(AUTO_KFOLDS);
    expect(() => parseSearchConfig({ data: { ref: 'iris', kfold: 'sometimes' } })).toThrow(/data\.kfold/);
  });

  it('a run stores the concrete choice, so a resume and remote workers rebuild the same split', async () => {
    const store = Store.open(join(dir, 'auto.db'));
    try {
      await new Coordinator({ store, executor: new InProcessExecutor() }).start(config('iris'), 'run-auto');
      const stored = parseSearchConfig(store.getRunConfig('run-auto'));
      expect(stored.data.kfold).toBe(AUTO_KFOLDS);
      expect(stored.data).not.toHaveProperty('autoKFold');
      const plain = loadDataset('iris', { splitSeed: stored.data.splitSeed });
      expect(store.getPredictions('run-auto', 'val').numSamples).toBe(plain.train.count + plain.val.count);
    } finally {
      store.close();
    }
  });
});
