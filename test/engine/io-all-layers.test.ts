import { describe, expect, it } from 'vitest';
import { decodeLoomBundle, encodeLoomBundle } from '../../src/engine/io/loom-bundle.js';
import { decodeLoomModel, encodeLoomModel } from '../../src/engine/io/loom-format.js';
import { layerTypes } from '../../src/engine/layers/registry.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { sizeOf, tensor, type Tensor } from '../../src/engine/tensor.js';

const L = (s: { type: string; [field: string]: unknown }): LayerSpec => s;

interface Fixture {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly layers: readonly LayerSpec[];
  /** Integer token ids in [0, n) instead of normal values. */
  readonly ids?: number;
}

/** At least one network per layer kind (several where the kind has modes), each kind's options away from defaults. */
const fixtures: Record<string, Fixture[]> = {
  dense: [{ name: 'per position, gelu', inputShape: [3, 4], layers: [L({ type: 'dense', units: 5, activation: 'gelu', perPosition: true, initScale: 0.5 })] }],
  conv2d: [{ name: 'rect kernel and stride', inputShape: [2, 5, 5], layers: [L({ type: 'conv2d', filters: 3, kernelSize: [3, 2], stride: [2, 1], padding: [1, 0], activation: 'relu' })] }],
  conv1d: [{ name: 'channelsLast same', inputShape: [6, 3], layers: [L({ type: 'conv1d', filters: 4, kernelSize: 3, padding: 'same', channelsLast: true, activation: 'tanh' })] }],
  mha: [
    { name: 'GQA causal rope', inputShape: [4, 8], layers: [L({ type: 'mha', heads: 4, kvHeads: 2, causal: true, rope: true, ropeTheta: 500 })] },
    { name: 'plain', inputShape: [3, 6], layers: [L({ type: 'mha', heads: 2 })] },
  ],
  rnn: [{ name: 'seq 3', inputShape: [3, 2], layers: [L({ type: 'rnn', hidden: 4 })] }],
  lstm: [{ name: 'seq 3', inputShape: [3, 2], layers: [L({ type: 'lstm', hidden: 3 })] }],
  softmax: [
    { name: 'standard T', inputShape: [2, 5], layers: [L({ type: 'softmax', temperature: 0.5 })] },
    { name: 'grid', inputShape: [6], layers: [L({ type: 'softmax', variant: 'grid', rows: 2, cols: 3 })] },
    { name: 'masked', inputShape: [4], layers: [L({ type: 'softmax', variant: 'masked', mask: [true, false, true, true] })] },
    { name: 'sparsemax', inputShape: [5], layers: [L({ type: 'softmax', variant: 'sparsemax' })] },
    { name: 'entmax', inputShape: [5], layers: [L({ type: 'softmax', variant: 'entmax', alpha: 1.5 })] },
    { name: 'gumbel', inputShape: [5], layers: [L({ type: 'softmax', variant: 'gumbel', temperature: 2 })] },
    { name: 'hierarchical', inputShape: [6], layers: [L({ type: 'softmax', variant: 'hierarchical', levels: [2, 2] })] },
    { name: 'adaptive', inputShape: [5], layers: [L({ type: 'softmax', variant: 'adaptive', clusters: [2, 2] })] },
    { name: 'mixture', inputShape: [8], layers: [L({ type: 'softmax', variant: 'mixture', components: 2 })] },
  ],
  layer_norm: [{ name: 'eps', inputShape: [2, 5], layers: [L({ type: 'layer_norm', epsilon: 1e-3 })] }],
  rms_norm: [{ name: 'eps', inputShape: [2, 5], layers: [L({ type: 'rms_norm', epsilon: 1e-4 })] }],
  residual: [
    { name: 'back 1', inputShape: [2, 5], layers: [L({ type: 'dense', units: 5, perPosition: true }), L({ type: 'residual' })] },
    { name: 'back 2', inputShape: [4], layers: [L({ type: 'dense', units: 4 }), L({ type: 'dense', units: 4, activation: 'tanh' }), L({ type: 'residual', back: 2 })] },
  ],
  swiglu: [{ name: 'hidden 6', inputShape: [3, 4], layers: [L({ type: 'swiglu', hidden: 6, initScale: 0.8 })] }],
  embedding: [{ name: 'ids', inputShape: [5], ids: 7, layers: [L({ type: 'embedding', vocab: 7, dim: 3 }), L({ type: 'flatten' }), L({ type: 'dense', units: 2 })] }],
  dropout: [{ name: 'rate 0.3', inputShape: [4], layers: [L({ type: 'dense', units: 3 }), L({ type: 'dropout', rate: 0.3 }), L({ type: 'dense', units: 2 })] }],
  random_shift: [{ name: 'pixels 2', inputShape: [1, 5, 5], layers: [L({ type: 'random_shift', pixels: 2 }), L({ type: 'flatten' }), L({ type: 'dense', units: 2 })] }],
  random_rotation: [{ name: 'degrees 12.5', inputShape: [1, 5, 5], layers: [L({ type: 'random_rotation', degrees: 12.5 }), L({ type: 'flatten' }), L({ type: 'dense', units: 2 })] }],
  random_elastic: [{ name: 'alpha 34, sigma 4', inputShape: [1, 5, 5], layers: [L({ type: 'random_elastic', alpha: 34, sigma: 4 }), L({ type: 'flatten' }), L({ type: 'dense', units: 2 })] }],
  parallel: ['concat', 'add', 'avg', 'filter'].map((combine) => ({
    name: combine,
    inputShape: [2, 4],
    layers: [L({ type: 'parallel', combine, temperature: combine === 'filter' ? 0.7 : undefined, branches: [L({ type: 'dense', units: 3, perPosition: true }), L({ type: 'dense', units: 3, perPosition: true, activation: 'sigmoid' })] })],
  })).concat([{
    name: 'grid_scatter',
    inputShape: [2, 4],
    layers: [L({
      type: 'parallel', combine: 'grid_scatter', gridRows: 2, gridCols: 2, gridLayers: 1,
      positions: [{ row: 1, col: 1, layer: 0 }, { row: 0, col: 1, layer: 0 }, { row: 1, col: 0, layer: 0 }],
      branches: [L({ type: 'rnn', hidden: 2 }), L({ type: 'lstm', hidden: 2 }), L({ type: 'dense', units: 4 })],
    })],
  }]),
  sequential: [{
    name: 'pre-norm attention block',
    inputShape: [3, 4],
    layers: [L({ type: 'sequential', layers: [L({ type: 'layer_norm' }), L({ type: 'mha', heads: 2 }), L({ type: 'residual', back: 2 })] })],
  }],
  flatten: [{ name: 'then dense', inputShape: [2, 3], layers: [L({ type: 'flatten' }), L({ type: 'dense', units: 2 })] }],
  pool: [
    { name: 'max 2×2', inputShape: [2, 4, 4], layers: [L({ type: 'pool', mode: 'max', size: 2 })] },
    { name: 'global mean', inputShape: [5, 3], layers: [L({ type: 'pool' })] },
  ],
  reshape: [{ name: 'padded tokens', inputShape: [7], layers: [L({ type: 'reshape', shape: [2, 4], pad: true }), L({ type: 'dense', units: 2, perPosition: true })] }],
};

function build(f: Fixture): Network {
  const network = new Network(sequentialNetworkSpec(f.inputShape, f.layers), new Rng(7));
  const rng = new Rng(8);
  for (const p of network.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = Math.fround(rng.normal(0, 0.5));
  return network;
}

function input(f: Fixture): Tensor {
  const rng = new Rng(9);
  const n = 3 * sizeOf(f.inputShape);
  return tensor([3, ...f.inputShape], Float32Array.from({ length: n }, () => (f.ids ? rng.int(f.ids) : rng.normal())));
}

const formats: [string, (n: Network) => Network][] = [
  ['Loom float32 file', (n) => decodeLoomModel(encodeLoomModel(n)).network],
  ['LOOM bundle (jsonModelB64)', (n) => decodeLoomBundle(encodeLoomBundle([{ id: 'x', network: n }])).models[0]!.network],
  ['LOOM bundle (multiPrecisionB64 float32)', (n) => decodeLoomBundle(encodeLoomBundle([{ id: 'x', network: n }], { format: 'multiPrecisionB64' })).models[0]!.network],
];

describe('every layer kind round-trips through every model format', () => {
  it('has a fixture for every registered kind', () => {
    expect(layerTypes().filter((t) => !(t in fixtures))).toEqual([]);
  });

  for (const kind of layerTypes()) {
    for (const fixture of fixtures[kind] ?? []) {
      for (const [format, roundTrip] of formats) {
        it(`${kind} (${fixture.name}) via ${format}: same spec, params and outputs`, () => {
          const original = build(fixture);
          const loaded = roundTrip(original);
          expect(loaded.spec).toEqual(original.spec);
          const a = original.params();
          const b = loaded.params();
          expect(b.map((p) => p.name)).toEqual(a.map((p) => p.name));
          a.forEach((p, i) => expect(Array.from(b[i]!.value), p.name).toEqual(Array.from(p.value)));
          expect(Array.from(loaded.forward(input(fixture)).data)).toEqual(Array.from(original.forward(input(fixture)).data));
        });
      }
    }
  }
});
