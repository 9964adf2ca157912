import { describe, expect, it } from 'vitest';
import { parseSearchConfig } from '../../src/search/config.js';
import { Coordinator } from '../../src/search/coordinator.js';
import type { TrainingJob } from '../../src/search/jobs.js';
import { InProcessExecutor } from '../helpers/in-process-executor.js';
import { maxParamGap, type NamedValues } from '../helpers/params.js';
import { refitId } from '../../src/search/refit.js';
import { buildNetwork } from '../../src/search/build.js';
import { STANDARD_GRID_SHAPES, finishConfig, generateConfigs, searchSpace } from '../../src/search/arch.js';
import { decodeLoomModel } from '../../src/engine/io/loom-format.js';
import { uncalibrate } from '../../src/engine/calibration.js';
import { inheritMatchingWeights } from '../../src/engine/io/weights.js';
import { Rng } from '../../src/engine/rng.js';
import { loadDataset } from '../../src/data/index.js';
import { Store } from '../../src/store/store.js';
import type { ModelResult } from '../../src/store/types.js';
import { processJob } from '../../src/workers/processor.js';

const dataset = loadDataset('synthetic:bars', { splitSeed: 1 });
const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
const space = searchSpace(task, { convWidths: [2], dModels: [8, 16], gridShapes: [STANDARD_GRID_SHAPES[0]!], maxBrains: 1 });

describe('weight inheritance', () => {
  it('copies the params whose name and shape match and leaves the others at their init', () => {
    const [a] = generateConfigs(1, task, new Rng(5), space);
    const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = a!;
    const parent = buildNetwork(finishConfig({ ...genes, dModel: 8, numHeads: 1 }), task, 1);
    const child = buildNetwork(finishConfig({ ...genes, dModel: 16, numHeads: 1 }), task, 2);
    const before = new Map(child.params().map((p) => [p.name, Float32Array.from(p.value)]));
    const report = inheritMatchingWeights(child, parent);
    const parentParams = new Map(parent.params().map((p) => [p.name, p]));
    // The conv stem does not depend on dModel: inherited. Everything after the adapter changed shape: kept.
    expect(report.loaded.length).toBeGreaterThan(0);
    expect(report.missing.length).toBeGreaterThan(0);
    expect(report.unused.length).toBe(report.missing.length);
    for (const p of child.params()) {
      const from = parentParams.get(p.name);
      if (report.loaded.includes(p.name)) expect(Array.from(p.value)).toEqual(Array.from(from!.value));
      else expect(Array.from(p.value)).toEqual(Array.from(before.get(p.name)!));
    }
  });

  it('a job with a warm start trains from its parent: at a tiny learning rate its weights stay next to the parent', async () => {
    const [a] = generateConfigs(1, task, new Rng(6), space);
    const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = a!;
    const arch = finishConfig({ ...genes, epochs: 1, dropout: 0, learningRate: 1e-6 });
    const training = { epochs: 1, batchSize: 16, optimizer: 'adamw' as const, weightDecay: 0, patience: 0, scheduler: 'constant' as const, mode: 'normal' as const, calibration: 'none' as const };
    const data = { ref: 'synthetic:bars', checksum: dataset.checksum, splitSeed: 1 };
    const parent = await processJob({ runId: 'r', modelId: 'p', generation: 0, arch: finishConfig({ ...genes, epochs: 2, dropout: 0 }), data, training, seed: 1 }, dataset, { worker: 'w' });
    const job = { runId: 'r', modelId: 'c', generation: 1, arch, data, training, seed: 2 };
    const warm = await processJob({ ...job, warmStart: { modelId: 'p', weights: Buffer.from(parent.weights).toString('base64') } }, dataset, { worker: 'w' });
    const cold = await processJob(job, dataset, { worker: 'w' });
    const maxDiff = (x: ModelResult, y: ModelResult): number => maxParamGap(decodeLoomModel(x.weights).network.params(), decodeLoomModel(y.weights).network.params());
    expect(maxDiff(warm, parent)).toBeLessThan(1e-3);
    expect(maxDiff(cold, parent)).toBeGreaterThan(1e-2);
    expect(warm.valAccuracy).toBeCloseTo(parent.valAccuracy, 1);
    expect(decodeLoomModel(warm.weights).metadata.inheritedFrom).toBe('p');
    expect(decodeLoomModel(cold.weights).metadata.inheritedFrom).toBeUndefined();
  }, 60_000);

  it("a warm start goes on from the parent's trained output layer, not from its calibrated one", async () => {
    const [a] = generateConfigs(1, task, new Rng(7), space);
    const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = a!;
    const training = { epochs: 1, batchSize: 16, optimizer: 'adamw' as const, weightDecay: 0, patience: 0, scheduler: 'constant' as const, mode: 'normal' as const };
    const data = { ref: 'synthetic:bars', checksum: dataset.checksum, splitSeed: 1 };
    const parentJob = { runId: 'r', modelId: 'p', generation: 0, arch: finishConfig({ ...genes, epochs: 3, dropout: 0 }), data, training: { ...training, epochs: 3, calibration: 'temperature' as const }, seed: 3 };
    const parent = await processJob(parentJob, dataset, { worker: 'w' });
    const stored = decodeLoomModel(parent.weights);
    const temperature = Number(stored.metadata.temperature);
    expect(Math.abs(temperature - 1)).toBeGreaterThan(0.05);
    // The child trains at a learning rate too small to move anything and is not calibrated itself.
    const child = await processJob(
      { runId: 'r', modelId: 'c', generation: 1, arch: finishConfig({ ...genes, epochs: 1, dropout: 0, learningRate: 1e-7 }), data, training: { ...training, calibration: 'none' as const }, seed: 4, warmStart: { modelId: 'p', weights: Buffer.from(parent.weights).toString('base64') } },
      dataset,
      { worker: 'w' },
    );
    const childParams = decodeLoomModel(child.weights).network.params();
    const copy = (): NamedValues[] => stored.network.params().map((p) => ({ name: p.name, value: Float32Array.from(p.value) }));
    const gap = (ps: readonly NamedValues[]): number => maxParamGap(ps, childParams);
    const calibrated = copy();
    expect(uncalibrate(stored.network, temperature)).toBe(true);
    expect(gap(copy())).toBeLessThan(1e-4);
    expect(gap(calibrated)).toBeGreaterThan(1e-3);
  }, 60_000);

  const run = async (inherit: 'all' | 'children', data: object = { ref: 'synthetic:bars' }): Promise<{ jobs: TrainingJob[]; store: Store }> => {
    const config = parseSearchConfig({
      seed: 4,
      data,
      population: 3,
      generations: 2,
      elite: 1,
      training: { epochs: 1, batchSize: 16 },
      generator: { convWidths: [2], dModels: [8], gridShapes: ['1x1 Mono'], maxBrains: 1 },
      refit: { models: 1, epochs: 1 },
      inherit,
    });
    const store = Store.open(':memory:');
    const executor = new InProcessExecutor();
    expect((await new Coordinator({ store, executor }).start(config, 'run-inherit')).status).toBe('finished');
    return { jobs: executor.jobs, store };
  };

  it("a run with inherit 'all' sends every child its first parent's weights and every refit its source's; generation 0 none", async () => {
    const { jobs, store } = await run('all');
    try {
      const byGeneration = (g: number): TrainingJob[] => jobs.filter((j) => j.generation === g);
      expect(byGeneration(0).length).toBe(3);
      expect(byGeneration(0).every((j) => j.warmStart === undefined)).toBe(true);
      expect(byGeneration(1).length).toBeGreaterThan(0);
      for (const j of [...byGeneration(1), ...byGeneration(2)]) {
        expect(j.warmStart?.modelId).toBe(j.arch.parents[0]);
        const stored = store.getWeights('run-inherit', j.arch.parents[0]!)!;
        expect(Buffer.from(j.warmStart!.weights, 'base64').equals(Buffer.from(stored.bytes))).toBe(true);
      }
      const [refit] = byGeneration(2);
      expect(refit!.modelId).toBe(refitId(refit!.arch.parents[0]!));
    } finally {
      store.close();
    }
  }, 120_000);

  it("with inherit 'children' the children inherit and the refit trains anew", async () => {
    const { jobs, store } = await run('children');
    store.close();
    expect(jobs.filter((j) => j.generation === 1).length).toBeGreaterThan(0);
    expect(jobs.filter((j) => j.generation === 1).every((j) => j.warmStart?.modelId === j.arch.parents[0])).toBe(true);
    const refits = jobs.filter((j) => j.generation === 2);
    expect(refits.length).toBe(1);
    expect(refits[0]!.warmStart).toBeUndefined();
  }, 120_000);

  it("a k-fold run with inherit 'all' sends bags their parent bag, and each stored child says what it inherited from", async () => {
    const { jobs, store } = await run('all', { ref: 'iris', kfold: 3 });
    try {
      const later = jobs.filter((j) => j.generation > 0);
      expect(later.length).toBeGreaterThan(1);
      for (const j of later) {
        expect(j.warmStart?.modelId).toBe(j.arch.parents[0]);
        const file = decodeLoomModel(store.getWeights('run-inherit', j.modelId)!.bytes);
        expect(file.metadata.folds).toBe('3');
        expect(file.metadata.inheritedFrom).toBe(j.arch.parents[0]);
      }
    } finally {
      store.close();
    }
  }, 120_000);

  it('the config takes inheritance with k-fold data (fold by fold) and refuses unknown modes', () => {
    expect(parseSearchConfig({}).inherit).toBe('none');
    expect(() => parseSearchConfig({ inherit: 'parents' })).toThrow(/inherit.*"none", "children", "all"/);
    expect(parseSearchConfig({ inherit: 'children', data: { ref: 'iris', kfold: 5 } }).inherit).toBe('children');
  });
});
