import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import {
  HYPER_GENES,
  generateConfigs,
  inferSpace,
  resolveGenOptions,
  searchSpace,
  stemLayout,
  validateConfig,
  withTrainingGenes,
  type ArchConfig,
  type TaskShape,
} from '../../src/search/arch.js';
import { buildNetwork, buildNetworkSpec } from '../../src/search/build.js';
import { crossover, genomeKey, mutate } from '../../src/search/evolve.js';
import { randomTensor } from '../helpers/gradcheck.js';
import { loadDataset, splitTensors } from '../../src/data/index.js';
import { evaluate } from '../../src/engine/eval.js';
import { train } from '../../src/engine/train/index.js';
import { finishConfig } from '../../src/search/arch.js';

const mnist: TaskShape = { inputShape: [28, 28], numClasses: 10 };
const table: TaskShape = { inputShape: [7], numClasses: 3 };
const sequence: TaskShape = { inputShape: [20, 3], numClasses: 2 };
const training = { epochs: 4, batchSize: 32, optimizer: 'adamw' as const, weightDecay: 1e-4, patience: 0, scheduler: 'cosine' as const, mode: 'normal' as const };

describe('data-fitted search spaces', () => {
  it('infers the kind of data from the input shape', () => {
    expect(inferSpace([28, 28])).toBe('image');
    expect(inferSpace([1, 28, 28])).toBe('image');
    expect(inferSpace([8, 8])).toBe('image');
    expect(inferSpace([7])).toBe('tabular');
    expect(inferSpace([20, 3])).toBe('sequence');
  });

  it('gives images a conv stem, tables one token and MLP brains, sequences LOOM’s brains', () => {
    const img = searchSpace(mnist);
    expect(img.space).toBe('image');
    expect(img.convBlocks?.length).toBeGreaterThan(0);
    expect(img.dropouts?.length).toBeGreaterThan(1);
    const tab = searchSpace(table);
    expect(tab.tokenDim).toBe(7);
    expect(tab.brainTypes).toEqual(['Dense', 'NormDense', 'SwiGLU']);
    expect(tab.convBlocks).toBeUndefined();
    expect(searchSpace(sequence)).toEqual({ space: 'sequence' });
    for (const o of [img, tab]) expect(() => resolveGenOptions(o)).not.toThrow();
  });

  it('lets every field of the config win, a list without weights drawn uniformly', () => {
    const o = searchSpace(mnist, { dropouts: [0.5], brainTypes: ['MHA', 'Dense'] });
    expect(o.dropouts).toEqual([0.5]);
    expect(o.brainTypes).toEqual(['MHA', 'Dense']);
    expect(o.brainDistribution).toEqual([1, 1]);
    expect(searchSpace(mnist, { space: 'sequence' }).convBlocks).toBeUndefined();
    expect(() => resolveGenOptions({ space: 'audio' as never })).toThrow(/space.*"auto", "image", "tabular", "sequence"/);
    expect(() => resolveGenOptions({ dropouts: [0.2, 1] })).toThrow(/dropouts\[1\]/);
  });

  it('draws the optional genes only when their options are given, so older option sets draw as before', () => {
    const plain = generateConfigs(4, mnist, new Rng(3), {});
    for (const c of plain) for (const h of HYPER_GENES) expect(c[h.gene]).toBeUndefined();
    const fitted = generateConfigs(6, mnist, new Rng(3), searchSpace(mnist));
    for (const c of fitted) {
      expect(c.convBlocks).toBeGreaterThan(0);
      expect(c.dropout).toBeDefined();
      expect(c.weightDecay).toBeDefined();
      expect(c.labelSmoothing).toBeDefined();
      expect(c.mutationStr).toMatch(/^Conv\d+x\d+_/);
      expect(validateConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
    }
    expect(generateConfigs(6, mnist, new Rng(3), searchSpace(mnist))).toEqual(fitted);
  });

  it('searches random shifts where the generator lists them: drawn from the list, a shift layer first when above 0', () => {
    const configs = generateConfigs(12, mnist, new Rng(4), searchSpace(mnist, { shifts: [0, 1, 2] }));
    expect(new Set(configs.map((c) => c.shift))).toEqual(new Set([0, 1, 2]));
    for (const c of configs) {
      const first = buildNetworkSpec(c, mnist).layers[0];
      expect(first).toEqual(c.shift ? { type: 'random_shift', pixels: c.shift } : { type: 'reshape', shape: [1, 28, 28], pad: false });
    }
    expect(() => resolveGenOptions({ shifts: [1, 2.5] })).toThrow(/shifts\[1\]/);
    expect(() => searchSpace(table, { shifts: [1] })).toThrow(/generator.shifts.*needs an image input/);
  });

  it('searches random rotations where the generator lists them: drawn from the list, a rotation layer first when above 0', () => {
    const configs = generateConfigs(12, mnist, new Rng(4), searchSpace(mnist, { rotations: [0, 10, 20] }));
    expect(new Set(configs.map((c) => c.rotation))).toEqual(new Set([0, 10, 20]));
    for (const c of configs) {
      const first = buildNetworkSpec(c, mnist).layers[0];
      expect(first).toEqual(c.rotation ? { type: 'random_rotation', degrees: c.rotation } : { type: 'reshape', shape: [1, 28, 28], pad: false });
    }
    expect(() => resolveGenOptions({ rotations: [10, 200] })).toThrow(/rotations\[1\]/);
    expect(() => searchSpace(table, { rotations: [15] })).toThrow(/generator.rotations.*needs an image input/);
  });

  it('searches elastic distortions where the generator lists them: drawn from the list, an elastic layer first when above 0', () => {
    const configs = generateConfigs(12, mnist, new Rng(4), searchSpace(mnist, { elastics: [0, 20, 34] }));
    expect(new Set(configs.map((c) => c.elastic))).toEqual(new Set([0, 20, 34]));
    for (const c of configs) {
      const first = buildNetworkSpec(c, mnist).layers[0];
      expect(first).toEqual(c.elastic ? { type: 'random_elastic', alpha: c.elastic, sigma: 4 } : { type: 'reshape', shape: [1, 28, 28], pad: false });
    }
    expect(() => resolveGenOptions({ elastics: [10, -1] })).toThrow(/elastics\[1\]/);
    expect(() => searchSpace(table, { elastics: [34] })).toThrow(/generator.elastics.*needs an image input/);
  });

  it('builds image configs with the stem, and table configs as one-token MLPs', () => {
    const [img] = generateConfigs(1, mnist, new Rng(5), searchSpace(mnist)) as [ArchConfig];
    const types = buildNetworkSpec(img, mnist).layers.map((l) => l.type);
    expect(types.slice(0, 6)).toEqual(['reshape', 'conv2d', 'pool', 'conv2d', 'pool', 'reshape']);
    const net = buildNetwork(img, mnist, 1);
    expect(net.forward(randomTensor([2, 28, 28], 1, 0, 1)).shape).toEqual([2, 10]);
    const [tab] = generateConfigs(1, table, new Rng(5), searchSpace(table)) as [ArchConfig];
    expect(tab.seqLen).toBe(1);
    expect(buildNetwork(tab, table, 1).forward(randomTensor([3, 7])).shape).toEqual([3, 3]);
  });

  it('trains a conv-stem config with dropout to well above chance on the synthetic bar images', () => {
    const data = loadDataset('synthetic:bars', { splitSeed: 2 });
    const task = { inputShape: data.inputShape, numClasses: data.numClasses };
    const config = finishConfig({
      id: 'stem', gridRows: 1, gridCols: 1, brains: ['Dense'], dModel: 16, numHeads: 4, learningRate: 3e-3, budgetScale: 1,
      activation: 'relu', combineMode: 'avg', initScale: 0.5, dtype: 'float32', seqLen: 8, tokenDim: 8, numClasses: task.numClasses,
      parents: [], origin: 'random', mutations: [], convBlocks: 1, convWidth: 4, dropout: 0.2,
    });
    const net = buildNetwork(config, task, 3);
    train(net, splitTensors(data, data.train), { epochs: 25, batchSize: 16, learningRate: 3e-3, seed: 1 });
    // Three classes: chance is 1/3.
    expect(evaluate(net, splitTensors(data, data.test)).accuracy).toBeGreaterThan(0.8);
  });

  it('refuses a stem on a flat input or one that pools below 1×1', () => {
    expect(() => stemLayout([7], 1, 8)).toThrow(/needs an image input/);
    expect(() => stemLayout([4, 4], 3, 8)).toThrow(/use at most 2/);
    expect(stemLayout([28, 28], 2, 8)).toEqual({ image: [1, 28, 28], channels: 16, height: 7, width: 7 });
    expect(() => generateConfigs(1, table, new Rng(1), { convBlocks: [1] })).toThrow(/needs an image input/);
  });
});

describe('optional genes in evolution', () => {
  const space = resolveGenOptions(searchSpace(mnist));
  const parents = generateConfigs(8, mnist, new Rng(11), space);

  it('mutates them to neighbouring values of their option lists, and every child validates', () => {
    const seen = new Set<string>();
    const rng = new Rng(2);
    for (let i = 0; i < 80; i++) {
      const parent = parents[i % parents.length] as ArchConfig;
      const child = mutate(parent, rng, { genOptions: space, id: `m${i}` });
      expect(validateConfig(child)).toEqual(child);
      for (const label of child.mutations) {
        const m = /^(dropout|weightDecay|labelSmoothing|convWidth|convBlocks):(.+)$/.exec(label);
        if (!m) continue;
        seen.add(m[1] as string);
        const h = HYPER_GENES.find((x) => x.gene === m[1]);
        const values = [...new Set(space[h?.option ?? 'dropouts'] ?? [])].sort((a, b) => a - b);
        expect(values).toContain(Number(m[2]));
      }
    }
    expect(seen.has('dropout')).toBe(true);
    expect(seen.has('weightDecay')).toBe(true);
    expect(seen.has('labelSmoothing')).toBe(true);
  });

  it('steps a rate to a neighbour, never across the list', () => {
    const base = { ...(parents[0] as ArchConfig), dropout: 0.1 };
    const rng = new Rng(9);
    for (let i = 0; i < 60; i++) {
      const child = mutate(base, rng, { genOptions: space, id: `n${i}`, extraChangeRate: 0 });
      if (child.dropout !== base.dropout) expect([0, 0.25]).toContain(child.dropout);
    }
  });

  it('crosses them over from either parent, and tells genomes apart by them', () => {
    const a = { ...(parents[0] as ArchConfig), dropout: 0, labelSmoothing: 0 };
    const b = { ...a, id: 'other', dropout: 0.4, labelSmoothing: 0.1 };
    expect(genomeKey(a)).not.toEqual(genomeKey(b));
    const drawn = new Set<number>();
    const rng = new Rng(4);
    for (let i = 0; i < 30; i++) {
      const child = crossover(a, b, rng, { id: `x${i}` });
      expect([0, 0.4]).toContain(child.dropout);
      drawn.add(child.dropout as number);
    }
    expect(drawn.size).toBe(2);
  });

  it('overrides the run’s training settings with a model’s training genes', () => {
    expect(withTrainingGenes(training, { epochs: 9, batchSize: 64, weightDecay: 0.002 })).toEqual({ ...training, epochs: 9, batchSize: 64, weightDecay: 0.002 });
    expect(withTrainingGenes(training, {})).toEqual(training);
  });
});
