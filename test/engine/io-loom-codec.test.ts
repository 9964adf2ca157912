import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/engine/io/base64.js';
import { decodeLoomBundle, encodeLoomBundle } from '../../src/engine/io/loom-bundle.js';
import { loomKindOf } from '../../src/engine/io/loom-layers.js';
import { layerDef } from '../../src/engine/io/loom-write.js';
import { layerRegistry } from '../../src/engine/layers/registry.js';
import type { Layer, LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';

/** A bundle as LOOM writes it: no cfg.loomts, so the architecture is read from the definitions alone. */
function loomBundle(layers: object[], weights: object[] = []): string {
  const payload = encodeBase64(new TextEncoder().encode(JSON.stringify({ type: 'float32', dtype: '', layers: weights })));
  const cfg = { id: 'm', batch_size: 1, grid_rows: 1, grid_cols: 1, layers_per_cell: layers.length, layers };
  return JSON.stringify({ type: 'modelhost/bundle', version: 1, models: [{ id: 'm', cfg, weights: { fmt: 'jsonModelB64', data: payload } }] });
}

const softmaxOf = (row: readonly number[]): number[] => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('layer kinds carry their LOOM codec', () => {
  it('every codec type and alias reads back as its own kind, and no two kinds share a LOOM name', () => {
    const seen = new Map<string, string>();
    for (const kind of layerRegistry().values()) {
      if (!kind.loom) continue;
      for (const name of [kind.loom.type, ...(kind.loom.aliases ?? [])]) {
        expect(seen.get(name), `LOOM name "${name}"`).toBeUndefined();
        seen.set(name, kind.type);
        expect(loomKindOf(name)).toBe(kind.type);
      }
    }
    // LOOM's names for the kinds whose Loom names differ
    expect(loomKindOf('multi_head_attention')).toBe('mha');
    expect(loomKindOf('layernorm')).toBe('layer_norm');
    expect(loomKindOf('rmsnorm')).toBe('rms_norm');
  });

  it('a kind without a LOOM codec cannot be written to a bundle, and says so', () => {
    const foreign = { spec: { type: 'not_in_loom' }, inputShape: [3], outputShape: [3], params: () => [] } as unknown as Layer;
    expect(() => layerDef(foreign)).toThrow(/layer type "not_in_loom" has no LOOM form.*Loom model file/);
  });

  it('LOOM-only kinds (flatten, pool, reshape) are written as the type alone and refused when read without cfg.loomts', () => {
    const net = new Network(sequentialNetworkSpec([2, 4, 4], [{ type: 'pool', size: 2 }, { type: 'flatten' }] as LayerSpec[]), new Rng(1));
    const bundle = JSON.parse(encodeLoomBundle([{ id: 'p', network: net }]));
    expect(bundle.models[0].cfg.layers).toEqual([{ type: 'pool', activation: 'linear' }, { type: 'flatten', activation: 'linear' }]);
    delete bundle.models[0].cfg.loomts;
    expect(() => decodeLoomBundle(JSON.stringify(bundle))).toThrow(/LOOM layer type "pool" cannot be read from its definition/);
  });
});

describe('weight-field tables', () => {
  it('a missing norm gain reads as ones (with a warning), a missing filter gate silently as zeros', () => {
    const { models, warnings } = decodeLoomBundle(loomBundle([{ type: 'layernorm', norm_size: 3 }], [{ beta: [1, 2, 3] }]));
    const params = models[0]!.network.params();
    expect(params.map((p) => [p.name, Array.from(p.value)])).toEqual([['L0.gamma', [1, 1, 1]], ['L0.beta', [1, 2, 3]]]);
    expect(warnings).toEqual([expect.stringMatching(/no gamma in the bundle; those weights are zeros \(γ ones\)/)]);
    const filter = loomBundle(
      [{ type: 'parallel', combine_mode: 'filter', branches: [{ type: 'dense', input_height: 2, output_height: 2 }, { type: 'dense', input_height: 2, output_height: 2 }] }],
      [{ branch_weights: [{ kernel: [1, 0, 0, 1], biases: [0, 0] }, { kernel: [0, 1, 1, 0], biases: [0, 0] }] }],
    );
    expect(decodeLoomBundle(filter).warnings).toEqual([]);
  });

  it('a conv bias is read from conv_bias or, as multiPrecision writes it, biases', () => {
    const def = { type: 'conv2d', input_channels: 1, input_height: 2, input_width: 2, filters: 1, kernel_size: 1 };
    for (const bias of [{ conv_bias: [0.25] }, { biases: [0.25] }]) {
      const { models, warnings } = decodeLoomBundle(loomBundle([def], [{ kernel: [2], ...bias }]));
      expect(warnings).toEqual([]);
      expect(Array.from(models[0]!.network.forward({ data: Float32Array.from([1, 2, 3, 4]), shape: [1, 1, 2, 2] }).data)).toEqual([2.25, 4.25, 6.25, 8.25]);
    }
  });
});

describe('a LOOM bundle whose first layer is a softmax', () => {
  const layers = [{ type: 'softmax' }, { type: 'dense', activation: 'linear', input_height: 3, output_height: 2 }];
  const weights = [{}, { kernel: [1, 0, 0, 1, 2, -1], biases: [0.5, 0] }];

  it('cannot tell its input size alone', () => {
    expect(() => decodeLoomBundle(loomBundle(layers, weights))).toThrow(/cannot tell the network's input size from this first layer/);
  });

  it('takes it from the input width (a number, or a function asked only then) and runs', () => {
    let asked = 0;
    for (const inputWidth of [3, (): number => (asked++, 3)]) {
      const { models } = decodeLoomBundle(loomBundle(layers, weights), { inputWidth });
      const net = models[0]!.network;
      expect(net.inputShape).toEqual([3]);
      const y = net.forward({ data: Float32Array.from([1, 2, 3]), shape: [1, 3] });
      const p = softmaxOf([1, 2, 3]);
      const expected = [p[0]! * 1 + p[1]! * 0 + p[2]! * 2 + 0.5, p[0]! * 0 + p[1]! * 1 + p[2]! * -1];
      Array.from(y.data).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    }
    expect(asked).toBe(1);
  });

  it('an explicit inputShape still wins, and a first layer that tells its size never asks for the width', () => {
    const { models } = decodeLoomBundle(loomBundle(layers, weights), { inputShape: [3], inputWidth: () => { throw new Error('asked'); } });
    expect(models[0]!.network.inputShape).toEqual([3]);
    const dense = loomBundle([layers[1]!], [weights[1]!]);
    expect(decodeLoomBundle(dense, { inputWidth: () => { throw new Error('asked'); } }).models[0]!.network.inputShape).toEqual([3]);
  });
});
