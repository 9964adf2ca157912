import { describe, expect, it } from 'vitest';
import { ACTIVATIONS } from '../../src/engine/activations.js';
import { layerRegistry } from '../../src/engine/layers/registry.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { encodeOnnxModel } from '../../src/engine/io/onnx/index.js';
import { compareWithOnnx, layersNet, maxAbsDiff, randomInput, runOnnx } from './helpers.js';

/** Every case: Loom's forward and onnxruntime's run of the exported model agree within 1e-4 on seeded inputs. */
interface Case {
  readonly name: string;
  readonly input: readonly number[];
  readonly layers: readonly LayerSpec[];
  readonly ids?: number;
}

const dense = (units: number, activation = 'linear', perPosition = false): LayerSpec =>
  ({ type: 'dense', units, activation, perPosition }) as LayerSpec;

const cases: Case[] = [
  ...ACTIVATIONS.map((a): Case => ({ name: `dense ${a}`, input: [5], layers: [dense(4, a)] })),
  { name: 'dense over a flattened [2, 3] sample', input: [2, 3], layers: [dense(4, 'relu')] },
  { name: 'dense per position', input: [3, 4], layers: [dense(5, 'gelu', true)] },
  { name: 'conv2d 3×3 pad 1 relu', input: [2, 6, 6], layers: [{ type: 'conv2d', filters: 3, kernelSize: 3, padding: 1, activation: 'relu' } as LayerSpec] },
  { name: 'conv2d [3,2] stride 2', input: [2, 7, 6], layers: [{ type: 'conv2d', filters: 2, kernelSize: [3, 2], stride: 2 } as LayerSpec] },
  { name: 'conv2d same tanh', input: [1, 5, 5], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh' } as LayerSpec] },
  { name: 'conv1d channels first, stride 2 pad 1', input: [3, 8], layers: [{ type: 'conv1d', filters: 4, kernelSize: 3, stride: 2, padding: 1 } as LayerSpec] },
  { name: 'conv1d channels last, same, silu', input: [8, 3], layers: [{ type: 'conv1d', filters: 4, kernelSize: 3, padding: 'same', channelsLast: true, activation: 'silu' } as LayerSpec] },
  { name: 'pool mean 2 over [C,H,W]', input: [2, 6, 6], layers: [{ type: 'pool', mode: 'mean', size: 2 } as LayerSpec] },
  { name: 'pool max 3 over [C,H,W] (floor)', input: [2, 7, 7], layers: [{ type: 'pool', mode: 'max', size: 3 } as LayerSpec] },
  { name: 'pool global mean [C,H,W]', input: [2, 4, 5], layers: [{ type: 'pool', mode: 'mean' } as LayerSpec] },
  { name: 'pool global max [C,H,W]', input: [2, 4, 5], layers: [{ type: 'pool', mode: 'max' } as LayerSpec] },
  { name: 'pool mean 2 over [seq,d]', input: [7, 3], layers: [{ type: 'pool', mode: 'mean', size: 2 } as LayerSpec] },
  { name: 'pool max 3 over [seq,d]', input: [6, 3], layers: [{ type: 'pool', mode: 'max', size: 3 } as LayerSpec] },
  { name: 'pool global over [seq,d]', input: [6, 3], layers: [{ type: 'pool', mode: 'max' } as LayerSpec] },
  { name: 'pool 2 over [seq]', input: [6], layers: [{ type: 'pool', mode: 'mean', size: 2 } as LayerSpec] },
  { name: 'pool global over [seq]', input: [6], layers: [{ type: 'pool', mode: 'mean' } as LayerSpec] },
  { name: 'layer_norm', input: [4, 6], layers: [{ type: 'layer_norm' } as LayerSpec] },
  { name: 'rms_norm', input: [4, 6], layers: [{ type: 'rms_norm', epsilon: 1e-5 } as LayerSpec] },
  { name: 'lstm', input: [5, 3], layers: [{ type: 'lstm', hidden: 4 } as LayerSpec] },
  { name: 'rnn', input: [5, 3], layers: [{ type: 'rnn', hidden: 4 } as LayerSpec] },
  { name: 'mha', input: [6, 8], layers: [{ type: 'mha', heads: 2 } as LayerSpec] },
  { name: 'mha with RoPE', input: [6, 8], layers: [{ type: 'mha', heads: 2, rope: true } as LayerSpec] },
  { name: 'mha causal with RoPE', input: [5, 8], layers: [{ type: 'mha', heads: 2, rope: true, causal: true } as LayerSpec] },
  { name: 'mha grouped KV (4 heads, 2 kv) with RoPE θ=500', input: [6, 16], layers: [{ type: 'mha', heads: 4, kvHeads: 2, rope: true, ropeTheta: 500 } as LayerSpec] },
  { name: 'swiglu', input: [4, 6], layers: [{ type: 'swiglu', hidden: 10 } as LayerSpec] },
  { name: 'embedding', input: [5], ids: 7, layers: [{ type: 'embedding', vocab: 7, dim: 3 } as LayerSpec] },
  { name: 'dropout (identity at inference)', input: [4], layers: [{ type: 'dropout', rate: 0.5 } as LayerSpec, dense(3)] },
  { name: 'random_shift (identity at inference)', input: [2, 4, 4], layers: [{ type: 'random_shift', pixels: 1 } as LayerSpec, { type: 'flatten' } as LayerSpec, dense(3)] },
  { name: 'random_rotation (identity at inference)', input: [2, 4, 4], layers: [{ type: 'random_rotation', degrees: 15 } as LayerSpec, { type: 'flatten' } as LayerSpec, dense(3)] },
  { name: 'random_elastic (identity at inference)', input: [2, 4, 4], layers: [{ type: 'random_elastic', alpha: 34, sigma: 4 } as LayerSpec, { type: 'flatten' } as LayerSpec, dense(3)] },
  { name: 'flatten', input: [2, 3, 2], layers: [{ type: 'flatten' } as LayerSpec, dense(3)] },
  { name: 'reshape with padding', input: [10], layers: [{ type: 'reshape', shape: [3, 4], pad: true } as LayerSpec, dense(2, 'relu', true)] },
  { name: 'residual in the network chain', input: [4, 6], layers: [{ type: 'layer_norm' } as LayerSpec, dense(6, 'relu', true), { type: 'residual', back: 2 } as LayerSpec] },
  {
    name: 'sequential with a residual (the MHA brain)',
    input: [6, 8],
    layers: [{ type: 'sequential', layers: [{ type: 'layer_norm' }, { type: 'mha', heads: 2, rope: true }, { type: 'residual', back: 2 }] } as LayerSpec],
  },
];

const branches: LayerSpec[] = [
  { type: 'lstm', hidden: 4 } as LayerSpec,
  dense(4, 'relu', true),
  { type: 'sequential', layers: [{ type: 'layer_norm' }, { type: 'mha', heads: 2, rope: true }, { type: 'residual', back: 2 }] } as LayerSpec,
];
const combineCases: Case[] = [
  { name: 'parallel concat (last axis)', input: [5, 4], layers: [{ type: 'parallel', branches, combine: 'concat' } as LayerSpec] },
  { name: 'parallel concat (flattened, unequal shapes)', input: [5, 4], layers: [{ type: 'parallel', branches: [dense(3), dense(2, 'relu', true)], combine: 'concat' } as LayerSpec] },
  { name: 'parallel add', input: [5, 4], layers: [{ type: 'parallel', branches, combine: 'add' } as LayerSpec] },
  { name: 'parallel avg', input: [5, 4], layers: [{ type: 'parallel', branches, combine: 'avg' } as LayerSpec] },
  { name: 'parallel grid_scatter (an empty cell)', input: [5, 4], layers: [{ type: 'parallel', branches, combine: 'grid_scatter' } as LayerSpec] },
  {
    name: 'parallel grid_scatter with positions and layers',
    input: [5, 4],
    layers: [{ type: 'parallel', branches, combine: 'grid_scatter', gridRows: 1, gridCols: 2, gridLayers: 2, positions: [{ row: 0, col: 1, layer: 1 }, { row: 0, col: 0, layer: 0 }, { row: 0, col: 1, layer: 0 }] } as LayerSpec],
  },
  { name: 'parallel filter (temperature 0.5)', input: [5, 4], layers: [{ type: 'parallel', branches, combine: 'filter', temperature: 0.5 } as LayerSpec] },
];

const softmaxCases: Case[] = [
  { name: 'softmax standard', input: [3, 5], layers: [{ type: 'softmax' } as LayerSpec] },
  { name: 'softmax temperature 2.5', input: [6], layers: [{ type: 'softmax', variant: 'temperature', temperature: 2.5 } as LayerSpec] },
  { name: 'softmax gumbel (inference)', input: [6], layers: [{ type: 'softmax', variant: 'gumbel' } as LayerSpec] },
  { name: 'softmax grid over the last axis', input: [2, 6], layers: [{ type: 'softmax', variant: 'grid', rows: 2, cols: 3 } as LayerSpec] },
  { name: 'softmax grid over the sample', input: [2, 6], layers: [{ type: 'softmax', variant: 'grid', rows: 3, cols: 4 } as LayerSpec] },
  { name: 'softmax masked', input: [5], layers: [{ type: 'softmax', variant: 'masked', mask: [true, false, true, true, false] } as LayerSpec] },
  { name: 'softmax sparsemax', input: [3, 6], layers: [{ type: 'softmax', variant: 'sparsemax', temperature: 0.5 } as LayerSpec] },
  { name: 'softmax entmax α=1', input: [6], layers: [{ type: 'softmax', variant: 'entmax', alpha: 1 } as LayerSpec] },
  { name: 'softmax entmax α=2', input: [6], layers: [{ type: 'softmax', variant: 'entmax', alpha: 2 } as LayerSpec] },
  { name: 'softmax mixture', input: [2, 3 + 3 * 4], layers: [{ type: 'softmax', variant: 'mixture', components: 3 } as LayerSpec] },
  { name: 'softmax adaptive', input: [3 + 2 + 4 + 3], layers: [{ type: 'softmax', variant: 'adaptive', clusters: [3, 4, 3] } as LayerSpec] },
  { name: 'softmax hierarchical', input: [2, 3 + 12 + 24], layers: [{ type: 'softmax', variant: 'hierarchical', levels: [3, 4, 2] } as LayerSpec] },
];

describe('ONNX export matches Loom in onnxruntime (1e-4)', () => {
  for (const c of [...cases, ...combineCases, ...softmaxCases]) {
    it(c.name, async () => {
      const net = layersNet(c.input, c.layers);
      const x = randomInput(c.input, 3, 7, c.ids);
      const { loom, onnx, diff } = await compareWithOnnx(net, x);
      expect(onnx.dims).toEqual(loom.shape);
      expect(diff).toBeLessThan(1e-4);
    });
  }
});

describe('ONNX export refusals and sensitivity', () => {
  it('refuses entmax with an α that has no exact ONNX form, naming the variant', () => {
    const net = layersNet([6], [{ type: 'softmax', variant: 'entmax', alpha: 1.5 } as LayerSpec]);
    expect(() => encodeOnnxModel(net)).toThrow(/softmax variant "entmax" with alpha 1.5 has no exact ONNX form/);
  });

  it('notices a single changed weight (the comparison is not vacuous)', async () => {
    const net = layersNet([5], [dense(4, 'tanh'), dense(3)]);
    const x = randomInput([5], 3);
    const bytes = encodeOnnxModel(net);
    const kernel = net.params().find((p) => p.name === 'L1.kernel');
    if (!kernel) throw new Error('no L1.kernel');
    kernel.value[0] = (kernel.value[0] as number) + 0.5;
    const after = net.forward(x);
    const onnx = await runOnnx(bytes, x);
    expect(maxAbsDiff(after.data, onnx.output)).toBeGreaterThan(1e-3);
  });
});

describe('ONNX coverage', () => {
  const typesIn = (specs: readonly LayerSpec[]): string[] =>
    specs.flatMap((s) => {
      const nested = s as { layers?: LayerSpec[]; branches?: LayerSpec[] };
      return [s.type, ...typesIn(nested.layers ?? []), ...typesIn(nested.branches ?? [])];
    });

  it('every layer kind in the registry has an ONNX emitter and a case above', () => {
    const tested = new Set(typesIn([...cases, ...combineCases, ...softmaxCases].flatMap((c) => c.layers)));
    for (const [type, kind] of layerRegistry()) {
      expect(kind.onnx, `${type} has no onnx emitter`).toBeTypeOf('function');
      expect(tested.has(type), `no ONNX case exercises ${type}`).toBe(true);
    }
  });
});
