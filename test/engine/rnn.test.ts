import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { rnnKind } from '../../src/engine/layers/rnn.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };

describe('rnn', () => {
  it('computes h_t = tanh(x_t·W_ih + h_{t−1}·W_hh + b) from h₀ = 0, returning every step', () => {
    const layer = rnnKind.create({ type: 'rnn', hidden: 2 }, [3, 1], new Rng(1));
    const [kernel, recurrent, bias] = layer.params();
    kernel!.value.set([1, -1]); // W_ih [in=1][hidden=2]
    recurrent!.value.set([0.5, 0, 0.25, 1]); // W_hh[h'][h]
    bias!.value.set([0.1, 0]);
    const xs = [[1, 0.5, -1], [0, 2, 0]];
    const y = layer.forward({ data: Float32Array.from(xs.flat()), shape: [2, 3, 1] }, ctx);
    expect(y.shape).toEqual([2, 3, 2]);
    xs.forEach((seq, b) => {
      let h = [0, 0];
      seq.forEach((x, t) => {
        h = [Math.tanh(x + 0.5 * h[0]! + 0.25 * h[1]! + 0.1), Math.tanh(-x + h[1]!)];
        expect(y.data[(b * 3 + t) * 2]).toBeCloseTo(h[0]!, 6);
        expect(y.data[(b * 3 + t) * 2 + 1]).toBeCloseTo(h[1]!, 6);
      });
    });
  });

  for (const seq of [1, 5]) {
    it(`gradients match finite differences (BPTT), seq ${seq}, batch 3`, () => {
      const layer = rnnKind.create({ type: 'rnn', hidden: 4 }, [seq, 3], new Rng(2));
      // seq 1 starts from h₀ = 0, so W_hh cannot affect the output.
      expectGradientsMatch(layer, randomTensor([3, seq, 3]), { allowZero: seq === 1 ? ['recurrentKernel'] : [] });
    });
  }

  it('gradients are not double counted at seq 1 (LOOM counts dW_ih, db and dx twice)', () => {
    const layer = rnnKind.create({ type: 'rnn', hidden: 1 }, [1, 1], new Rng(1));
    layer.params()[0]!.value.set([0.5]);
    layer.forward({ data: Float32Array.from([2]), shape: [1, 1, 1] }, ctx);
    const dx = layer.backward({ data: Float32Array.from([1]), shape: [1, 1, 1] }, ctx);
    const dPre = 1 - Math.tanh(1) ** 2;
    expect(layer.params()[2]!.grad[0]).toBeCloseTo(dPre, 6);
    expect(layer.params()[0]!.grad[0]).toBeCloseTo(2 * dPre, 6);
    expect(dx.data[0]).toBeCloseTo(0.5 * dPre, 6);
  });

  it('resolves defaults, names its params and rebuilds from its spec', () => {
    const layer = rnnKind.create({ type: 'rnn', hidden: 6 }, [4, 3], new Rng(3));
    expect(layer.spec).toEqual({ type: 'rnn', hidden: 6, initScale: 1 });
    expect(layer.outputShape).toEqual([4, 6]);
    expect(layer.params().map((p) => [p.name, p.shape])).toEqual([['kernel', [3, 6]], ['recurrentKernel', [6, 6]], ['bias', [6]]]);
    const rebuilt = createLayer(layer.spec as LayerSpec, layer.inputShape, new Rng(3));
    const x = randomTensor([2, 4, 3]);
    expect(Array.from(rebuilt.forward(x, ctx).data)).toEqual(Array.from(layer.forward(x, ctx).data));
  });

  it('rejects bad specs and shapes, naming the layer', () => {
    expect(() => rnnKind.create({ type: 'rnn', hidden: 0 }, [4, 3], new Rng(1))).toThrow(/rnn: hidden must be a positive integer, got 0/);
    expect(() => rnnKind.create({ type: 'rnn', hidden: 2 }, [12], new Rng(1))).toThrow(/rnn: expected input shape \[seq, in\], got \[12\]/);
    const layer = rnnKind.create({ type: 'rnn', hidden: 2 }, [4, 3], new Rng(1));
    expect(() => layer.forward(randomTensor([2, 4, 2]), ctx)).toThrow(/rnn: expected input shape \[4, 3\], got \[4, 2\]/);
  });
});
