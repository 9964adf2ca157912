import { describe, expect, it } from 'vitest';
import { layerTypes } from '../../src/engine/layers/registry.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { Layer, LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const spec = (s: object): LayerSpec => s as LayerSpec;
const perPos = (units: number, activation = 'tanh') => ({ type: 'dense', units, activation, perPosition: true });

/**
 * One network using every layer type, every Parallel combine mode, Sequential at the top and nested, and
 * Residuals at the top and inside a Sequential. Shapes are noted after each layer.
 */
const deepLayers: LayerSpec[] = [
  { type: 'embedding', vocab: 7, dim: 6 }, // [4, 5] ids → [4, 5, 6] (read as [C, H, W])
  { type: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh' }, // [2, 5, 6]
  { type: 'random_shift', pixels: 1 }, // [2, 5, 6]: identity at evaluation; fixed seeded shifts in the training-mode check
  { type: 'random_rotation', degrees: 20 }, // [2, 5, 6]: likewise, fixed seeded angles
  { type: 'random_elastic', alpha: 4, sigma: 1 }, // [2, 5, 6]: likewise, fixed seeded displacement fields
  { type: 'pool', mode: 'mean', size: 2 }, // [2, 2, 3]
  {
    type: 'parallel',
    combine: 'grid_scatter',
    gridRows: 2,
    gridCols: 2,
    positions: [{ row: 0, col: 0, layer: 0 }, { row: 1, col: 1, layer: 0 }, { row: 0, col: 1, layer: 0 }],
    branches: [{ type: 'layer_norm' }, { type: 'dense', units: 12, activation: 'tanh' }, { type: 'sequential', layers: [{ type: 'flatten' }, { type: 'rms_norm' }] }],
  }, // [4, 12], cell (1, 0) empty
  { type: 'conv1d', filters: 6, kernelSize: 3, padding: 'same', channelsLast: true, activation: 'tanh' }, // [4, 6]
  { type: 'layer_norm' },
  { type: 'mha', heads: 3, causal: true, rope: true },
  { type: 'residual', back: 2 }, // + the layer_norm's input
  { type: 'rms_norm' },
  { type: 'swiglu', hidden: 8 },
  { type: 'residual', back: 2 }, // + the rms_norm's input
  { type: 'rnn', hidden: 5 }, // [4, 5]
  { type: 'dropout', rate: 0.25 }, // identity at evaluation; a fixed seeded mask in the training-mode check
  { type: 'sequential', layers: [{ type: 'lstm', hidden: 5 }, { type: 'layer_norm' }] },
  {
    type: 'parallel',
    combine: 'concat',
    branches: [
      perPos(3),
      { type: 'layer_norm' },
      { type: 'sequential', layers: [{ type: 'rms_norm' }, { type: 'parallel', combine: 'add', branches: [{ type: 'swiglu', hidden: 4 }, perPos(5)] }, { type: 'residual', back: 2 }] },
    ],
  }, // [4, 13]
  { type: 'parallel', combine: 'avg', branches: [perPos(4), { type: 'sequential', layers: [perPos(4, 'linear'), { type: 'layer_norm' }] }] }, // [4, 4]
  { type: 'parallel', combine: 'filter', temperature: 0.8, branches: [perPos(4), { type: 'rms_norm' }, { type: 'lstm', hidden: 4 }, { type: 'mha', heads: 2 }] },
  { type: 'softmax' },
  { type: 'pool', mode: 'mean' }, // global over the sequence: [4]
  { type: 'reshape', shape: [2, 2] },
  { type: 'flatten' },
  { type: 'dense', units: 3 },
].map(spec);

/** Every type used anywhere in the tree, nested ones included. */
function typesIn(layers: readonly Layer[]): Set<string> {
  const seen = new Set<string>();
  const visit = (l: Layer): void => {
    seen.add(l.spec.type);
    l.children?.().forEach(visit);
  };
  layers.forEach(visit);
  return seen;
}

/** Token ids [batch, 4, 5] in [0, 7). */
function ids(batch: number, seed: number) {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: batch * 20 }, () => rng.int(7)), shape: [batch, 4, 5] };
}

describe('a deep network mixing every layer type', () => {
  it('uses every registered layer type and every combine mode', () => {
    const net = new Network(sequentialNetworkSpec([4, 5], deepLayers), new Rng(11));
    expect([...typesIn(net.layers)].sort()).toEqual([...layerTypes()].sort());
    const combines = new Set<unknown>();
    const visit = (l: Layer): void => {
      if (l.spec.type === 'parallel') combines.add((l.spec as { combine?: string }).combine);
      l.children?.().forEach(visit);
    };
    net.layers.forEach(visit);
    expect([...combines].sort()).toEqual(['add', 'avg', 'concat', 'filter', 'grid_scatter']);
    expect(net.outputShape).toEqual([3]);
  });

  // eps 3e-3: float32 noise swamps the smallest deep gradients (norm ~3e-3) at 1e-3, curvature biases 1e-2 (measured).
  it('gradients match finite differences end to end for every parameter', () => {
    const net = new Network(sequentialNetworkSpec([4, 5], deepLayers), new Rng(11));
    // A key bias shifts every score of a query equally, so softmax cancels it: its true gradient is zero.
    const keyBiases = net.params().filter((p) => p.name.endsWith('.kBias')).map((p) => p.name);
    expect(keyBiases.length).toBe(2);
    const report = expectGradientsMatch(net, ids(2, 12), { skipInput: true, probes: 8, eps: 3e-3, tol: 2e-2, allowZero: keyBiases });
    expect(Object.keys(report.errors).length).toBe(net.params().length);
  });
});

describe('network flags', () => {
  const layers = [spec(perPos(3)), spec({ type: 'layer_norm' }), spec({ type: 'swiglu', hidden: 4 }), spec({ type: 'residual', back: 2 })];

  it('a frozen layer is left out of trainableParams but still passes gradients', () => {
    const net = new Network({ ...sequentialNetworkSpec([2, 4], layers), frozen: [2] }, new Rng(1));
    expect(net.isFrozen(2)).toBe(true);
    const trainable = net.trainableParams().map((p) => p.name);
    expect(trainable).toEqual(['L0.kernel', 'L0.bias', 'L1.gamma', 'L1.beta']);
    expect(net.params().map((p) => p.name)).toContain('L2.down.kernel');
    expectGradientsMatch(net, randomTensor([2, 2, 4]));
  });

  it('a disabled layer acts as the identity', () => {
    const full = new Network(sequentialNetworkSpec([2, 4], layers), new Rng(1));
    const without = new Network({ ...sequentialNetworkSpec([2, 4], layers), disabled: [2] }, new Rng(1));
    expect(without.trainableParams().some((p) => p.name.startsWith('L2.'))).toBe(false);
    const x = randomTensor([2, 2, 4]);
    // with the swiglu disabled the network is layer_norm(dense(x)) + dense(x)
    const h = full.layers[0]!.forward(x, ctx);
    const n = full.layers[1]!.forward(h, ctx);
    const expected = Array.from(n.data).map((v, i) => v + (h.data[i] as number));
    Array.from(without.forward(x, ctx).data).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
    expect(Array.from(full.forward(x, ctx).data)).not.toEqual(Array.from(without.forward(x, ctx).data));
    // the disabled layer's own parameters get no gradient
    expectGradientsMatch(without, x, { allowZero: without.params().filter((p) => p.name.startsWith('L2.')).map((p) => p.name) });
    for (const p of without.params()) if (p.name.startsWith('L2.')) expect(p.grad.every((g) => g === 0)).toBe(true);
  });
});
