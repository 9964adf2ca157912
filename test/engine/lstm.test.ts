import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { lstmKind } from '../../src/engine/layers/lstm.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

describe('lstm', () => {
  it('forget-gate bias is 1 at init, every other bias 0', () => {
    const layer = lstmKind.create({ type: 'lstm', hidden: 3 }, [2, 4], new Rng(1));
    expect(Array.from(layer.params()[2]!.value)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('computes the i, f, g, o gates and c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t) by hand', () => {
    // hidden 1, in 1: kernel [1][4] = gate weights on x, recurrentKernel [1][4] on h, bias [4] (order i, f, g, o).
    const layer = lstmKind.create({ type: 'lstm', hidden: 1 }, [2, 1], new Rng(1));
    const [kernel, recurrent, bias] = layer.params();
    const wx = [0.5, -0.3, 0.8, 0.2];
    const wh = [0.1, 0.4, -0.6, 0.7];
    const b = [0, 1, 0.2, -0.1];
    kernel!.value.set(wx);
    recurrent!.value.set(wh);
    bias!.value.set(b);
    const xs = [1.5, -0.5];
    const y = layer.forward({ data: Float32Array.from(xs), shape: [1, 2, 1] }, ctx);
    let h = 0;
    let c = 0;
    xs.forEach((x, t) => {
      const pre = [0, 1, 2, 3].map((g) => wx[g]! * x + wh[g]! * h + b[g]!);
      const [i, f, g, o] = [sigmoid(pre[0]!), sigmoid(pre[1]!), Math.tanh(pre[2]!), sigmoid(pre[3]!)];
      c = f * c + i * g;
      h = o * Math.tanh(c);
      expect(y.data[t]).toBeCloseTo(h, 6);
    });
  });

  for (const seq of [1, 5]) {
    it(`gradients match finite differences (BPTT), seq ${seq}, batch 3`, () => {
      const layer = lstmKind.create({ type: 'lstm', hidden: 4 }, [seq, 3], new Rng(2));
      // seq 1: h₀ = c₀ = 0, so W_hh cannot affect the output.
      expectGradientsMatch(layer, randomTensor([3, seq, 3]), { allowZero: seq === 1 ? ['recurrentKernel'] : [] });
    });
  }

  it('gradients match with a large forget bias, where the cell carries information across all steps', () => {
    const layer = lstmKind.create({ type: 'lstm', hidden: 3, initScale: 2 }, [6, 2], new Rng(5));
    layer.params()[2]!.value.fill(3, 3, 6);
    expectGradientsMatch(layer, randomTensor([2, 6, 2], 4));
  });

  it('resolves defaults, names its params and rebuilds from its spec', () => {
    const layer = lstmKind.create({ type: 'lstm', hidden: 5 }, [4, 3], new Rng(3));
    expect(layer.spec).toEqual({ type: 'lstm', hidden: 5, initScale: 1 });
    expect(layer.outputShape).toEqual([4, 5]);
    expect(layer.params().map((p) => [p.name, p.shape])).toEqual([['kernel', [3, 20]], ['recurrentKernel', [5, 20]], ['bias', [20]]]);
    const rebuilt = createLayer(layer.spec as LayerSpec, layer.inputShape, new Rng(3));
    const x = randomTensor([2, 4, 3]);
    expect(Array.from(rebuilt.forward(x, ctx).data)).toEqual(Array.from(layer.forward(x, ctx).data));
  });

  it('rejects bad specs and shapes, naming the layer', () => {
    expect(() => lstmKind.create({ type: 'lstm', hidden: 1.5 }, [4, 3], new Rng(1))).toThrow(/lstm: hidden must be a positive integer, got 1.5/);
    expect(() => lstmKind.create({ type: 'lstm', hidden: 2 }, [2, 2, 3], new Rng(1))).toThrow(/lstm: expected input shape \[seq, in\], got \[2, 2, 3\]/);
    const layer = lstmKind.create({ type: 'lstm', hidden: 2 }, [4, 3], new Rng(1));
    expect(() => layer.forward(randomTensor([2, 5, 3]), ctx)).toThrow(/lstm: expected input shape \[4, 3\], got \[5, 3\]/);
  });
});
