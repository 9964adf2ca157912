import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { COMBINE_MODES, finishConfig, generateConfigs, inputLayout, type ArchConfig, type ArchGenes, type TaskShape } from '../../src/search/arch.js';
import { buildNetwork, buildNetworkSpec } from '../../src/search/build.js';
import { randomTensor } from '../helpers/gradcheck.js';

/** A small config for a task, with the given genes overridden. */
function configFor(task: TaskShape, genes: Partial<ArchGenes> = {}): ArchConfig {
  const layout = inputLayout(task.inputShape, genes.tokenDim);
  return finishConfig({
    id: 't1',
    gridRows: 2,
    gridCols: 2,
    brains: ['MHA', 'LSTM', 'Conv1D', 'SwiGLU'],
    dModel: 8,
    numHeads: 2,
    learningRate: 1e-3,
    budgetScale: 1,
    activation: 'tanh',
    combineMode: 'avg',
    initScale: 0.5,
    dtype: 'float32',
    seqLen: layout.seqLen,
    tokenDim: layout.tokenDim,
    numClasses: task.numClasses,
    parents: [],
    origin: 'random',
    mutations: [],
    ...genes,
  });
}

const image: TaskShape = { inputShape: [8, 8], numClasses: 3 };
const flat: TaskShape = { inputShape: [13], numClasses: 4 };
const channels: TaskShape = { inputShape: [1, 6, 6], numClasses: 2 };

describe('buildNetwork', () => {
  for (const combineMode of COMBINE_MODES) {
    for (const [name, task] of [['image', image], ['flat', flat], ['[1, H, W]', channels]] as const) {
      it(`outputs [numClasses] logits for a ${name} task with ${combineMode}`, () => {
        const net = buildNetwork(configFor(task, { combineMode }), task, 1);
        expect(net.outputShape).toEqual([task.numClasses]);
        const y = net.forward(randomTensor([2, ...task.inputShape]));
        expect(y.shape).toEqual([2, task.numClasses]);
        expect(y.data.every(Number.isFinite)).toBe(true);
      });
    }
  }

  it('lays out the network: [reshape] → adapter → hive → merger → flatten → head', () => {
    const spec = buildNetworkSpec(configFor(image, { combineMode: 'concat' }), image);
    expect(spec.layers.map((l) => l.type)).toEqual(['dense', 'parallel', 'dense', 'flatten', 'dense']);
    expect(spec.layers[0]).toMatchObject({ units: 8, perPosition: true, activation: 'tanh', initScale: 0.5 });
    expect(spec.layers[4]).toMatchObject({ units: 3, activation: 'linear' });
    expect(spec.frozen ?? []).toEqual([]);
    const flatSpec = buildNetworkSpec(configFor(flat), flat);
    expect(flatSpec.layers[0]).toEqual({ type: 'reshape', shape: [4, 4], pad: true });
    expect(buildNetworkSpec(configFor(channels), channels).layers[0]).toEqual({ type: 'reshape', shape: [6, 6], pad: false });
    const net = buildNetwork(configFor(image, { combineMode: 'concat' }), image, 1);
    expect(net.layers[1]?.outputShape).toEqual([8, 4 * 8]);
  });

  it('places grid_scatter brains row-major on the config grid', () => {
    const config = configFor(image, { gridRows: 3, gridCols: 2, brains: ['Dense', 'RNN', 'MHA', 'Dense', 'NormDense', 'Conv1D'], combineMode: 'grid_scatter' });
    const hive = buildNetworkSpec(config, image).layers[1] as unknown as Record<string, unknown>;
    expect(hive).toMatchObject({ combine: 'grid_scatter', gridRows: 3, gridCols: 2, gridLayers: 1 });
    expect(hive.positions).toEqual([
      { row: 0, col: 0, layer: 0 }, { row: 0, col: 1, layer: 0 }, { row: 1, col: 0, layer: 0 },
      { row: 1, col: 1, layer: 0 }, { row: 2, col: 0, layer: 0 }, { row: 2, col: 1, layer: 0 },
    ]);
    const net = buildNetwork(config, image, 2);
    expect(net.layers[1]?.outputShape).toEqual([6, 8 * 8]);
    expect(net.outputShape).toEqual([3]);
  });

  it('is seeded: same seed same weights, another seed other weights', () => {
    const config = configFor(image);
    const a = buildNetwork(config, image, 5).params();
    const b = buildNetwork(config, image, 5).params();
    const c = buildNetwork(config, image, 6).params();
    expect(a.map((p) => Array.from(p.value))).toEqual(b.map((p) => Array.from(p.value)));
    expect(a.map((p) => Array.from(p.value))).not.toEqual(c.map((p) => Array.from(p.value)));
    expect(buildNetwork(config, image, 5).modelId).toBe('t1');
  });

  it('trains every brain: nothing frozen and every parameter gets a gradient', () => {
    const brains = ['MHA', 'LSTM', 'RNN', 'Dense', 'SwiGLU', 'NormDense', 'Conv1D'] as const;
    for (const combineMode of ['filter', 'concat'] as const) {
      const net = buildNetwork(configFor(image, { gridRows: 7, gridCols: 1, brains: [...brains], combineMode }), image, 3);
      expect(net.trainableParams().length).toBe(net.params().length);
      const y = net.forward(randomTensor([3, 8, 8]));
      net.zeroGrad();
      net.backward(randomTensor(y.shape.slice(), 9));
      for (const p of net.params()) {
        const norm = Math.sqrt(p.grad.reduce((s, g) => s + g * g, 0));
        expect(norm, `gradient of ${p.name} (${combineMode})`).toBeGreaterThan(0);
      }
      for (let b = 0; b < brains.length; b++) expect(net.params().some((p) => p.name.startsWith(`L1.branch.${b}.`))).toBe(true);
    }
  });

  it('builds generated configs', () => {
    const task = { inputShape: [6, 6], numClasses: 5 };
    for (const config of generateConfigs(6, task, new Rng(2), { dModels: [16, 8], maxBrains: 6 })) {
      expect(buildNetwork(config, task, 1).forward(randomTensor([1, 6, 6])).shape).toEqual([1, 5]);
    }
  });

  it('puts a conv stem before the tokens: conv/pool blocks, each feature map one token, width doubling', () => {
    const config = configFor(image, { convBlocks: 2, convWidth: 4, activation: 'relu' });
    const spec = buildNetworkSpec(config, image);
    expect(spec.layers.map((l) => l.type)).toEqual(['reshape', 'conv2d', 'pool', 'conv2d', 'pool', 'reshape', 'dense', 'parallel', 'dense', 'flatten', 'dense', 'dense']);
    // The hidden layer after flatten mixes the feature-map tokens: 2·dModel units, the config's activation.
    expect(spec.layers[10]).toMatchObject({ type: 'dense', units: 16, activation: 'relu' });
    expect(spec.layers[0]).toEqual({ type: 'reshape', shape: [1, 8, 8], pad: false });
    expect(spec.layers[1]).toMatchObject({ type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' });
    expect(spec.layers[3]).toMatchObject({ type: 'conv2d', filters: 8 });
    expect(spec.layers[5]).toEqual({ type: 'reshape', shape: [8, 4], pad: false });
    const net = buildNetwork(config, image, 1);
    expect(net.layers[5]?.outputShape).toEqual([8, 4]);
    // [C, H, W] inputs need no reshape in front; every stem parameter trains.
    const c3 = buildNetwork(configFor(channels, { convBlocks: 1, convWidth: 3 }), channels, 1);
    expect(c3.layers[0]?.spec.type).toBe('conv2d');
    const y = c3.forward(randomTensor([2, 1, 6, 6]), { training: true });
    c3.zeroGrad();
    c3.backward(randomTensor(y.shape.slice(), 4), { training: true });
    for (const p of c3.params()) expect(p.grad.some((g) => g !== 0), p.name).toBe(true);
  });

  it('adds dropout before the head when the config has some: active in training, the identity at evaluation', () => {
    expect(buildNetworkSpec(configFor(image), image).layers.some((l) => l.type === 'dropout')).toBe(false);
    const config = configFor(image, { dropout: 0.5 });
    const spec = buildNetworkSpec(config, image);
    expect(spec.layers.at(-2)).toEqual({ type: 'dropout', rate: 0.5 });
    const net = buildNetwork(config, image, 1);
    const x = randomTensor([4, 8, 8]);
    const evalA = Array.from(net.forward(x).data);
    expect(Array.from(net.forward(x).data)).toEqual(evalA);
    expect(Array.from(net.forward(x, { training: true, rng: new Rng(1) }).data)).not.toEqual(evalA);
  });

  it('starts with a random shift when the config has one: each training image moved, the identity at evaluation', () => {
    expect(buildNetworkSpec(configFor(image, { convBlocks: 1, convWidth: 2 }), image).layers.some((l) => l.type === 'random_shift')).toBe(false);
    const config = configFor(image, { convBlocks: 1, convWidth: 2, shift: 2 });
    const spec = buildNetworkSpec(config, image);
    expect(spec.layers.slice(0, 3).map((l) => l.type)).toEqual(['random_shift', 'reshape', 'conv2d']);
    expect(spec.layers[0]).toEqual({ type: 'random_shift', pixels: 2 });
    const net = buildNetwork(config, image, 1);
    const x = randomTensor([4, 8, 8]);
    const evalA = Array.from(net.forward(x).data);
    expect(Array.from(net.forward(x).data)).toEqual(evalA);
    expect(Array.from(net.forward(x, { training: true, rng: new Rng(1) }).data)).not.toEqual(evalA);
    // Shift 0 is no layer; a flat input is no image.
    expect(buildNetworkSpec(configFor(image, { shift: 0 }), image).layers[0]?.type).not.toBe('random_shift');
    expect(() => buildNetworkSpec(configFor(flat, { shift: 1 }), flat)).toThrow(/"shift".*needs an image input.*\[13\]/);
  });

  it('starts with a random rotation when the config has one, before a shift: training differs, evaluation is the identity', () => {
    const config = configFor(image, { convBlocks: 1, convWidth: 2, rotation: 12.5, shift: 1 });
    const spec = buildNetworkSpec(config, image);
    expect(spec.layers.slice(0, 4).map((l) => l.type)).toEqual(['random_rotation', 'random_shift', 'reshape', 'conv2d']);
    expect(spec.layers[0]).toEqual({ type: 'random_rotation', degrees: 12.5 });
    const net = buildNetwork(configFor(image, { convBlocks: 1, convWidth: 2, rotation: 20 }), image, 1);
    const x = randomTensor([4, 8, 8]);
    const evalA = Array.from(net.forward(x).data);
    expect(Array.from(net.forward(x).data)).toEqual(evalA);
    expect(Array.from(net.forward(x, { training: true, rng: new Rng(1) }).data)).not.toEqual(evalA);
    expect(buildNetworkSpec(configFor(image, { rotation: 0 }), image).layers[0]?.type).not.toBe('random_rotation');
    expect(() => buildNetworkSpec(configFor(flat, { rotation: 10 }), flat)).toThrow(/"rotation".*needs an image input.*\[13\]/);
  });

  it('starts with an elastic distortion when the config has one, before a rotation and a shift (σ fixed at 4)', () => {
    const spec = buildNetworkSpec(configFor(image, { convBlocks: 1, convWidth: 2, elastic: 34, rotation: 12.5, shift: 1 }), image);
    expect(spec.layers.slice(0, 5).map((l) => l.type)).toEqual(['random_elastic', 'random_rotation', 'random_shift', 'reshape', 'conv2d']);
    expect(spec.layers[0]).toEqual({ type: 'random_elastic', alpha: 34, sigma: 4 });
    const net = buildNetwork(configFor(image, { convBlocks: 1, convWidth: 2, elastic: 20 }), image, 1);
    const x = randomTensor([4, 8, 8]);
    const evalA = Array.from(net.forward(x).data);
    expect(Array.from(net.forward(x).data)).toEqual(evalA);
    expect(Array.from(net.forward(x, { training: true, rng: new Rng(1) }).data)).not.toEqual(evalA);
    expect(buildNetworkSpec(configFor(image, { elastic: 0 }), image).layers[0]?.type).not.toBe('random_elastic');
    expect(() => buildNetworkSpec(configFor(flat, { elastic: 34 }), flat)).toThrow(/"elastic".*needs an image input.*\[13\]/);
  });

  it('rejects a config built for another task', () => {
    const config = configFor(image);
    expect(() => buildNetworkSpec(config, { inputShape: [8, 8], numClasses: 4 })).toThrow(/"numClasses": config says 3 but the task has 4/);
    expect(() => buildNetworkSpec(config, { inputShape: [9, 8], numClasses: 3 })).toThrow(/"seqLen"/);
    expect(() => buildNetworkSpec({ ...config, numHeads: 3 }, image)).toThrow(/"numHeads"/);
  });
});
