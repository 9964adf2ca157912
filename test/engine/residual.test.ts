import { describe, expect, it } from 'vitest';
import { createLayer } from '../../src/engine/layers/registry.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { residualKind } from '../../src/engine/layers/residual.js';
import type { Layer, LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const t = (shape: number[], values: number[]) => ({ data: Float32Array.from(values), shape });
const dense = (units: number): LayerSpec => ({ type: 'dense', units, activation: 'tanh' } as LayerSpec);
const add = (a: Tensor, b: Tensor): number[] => Array.from(a.data).map((v, i) => v + (b.data[i] as number));

describe('residual', () => {
  it('adds the skip input and sends the gradient to both inputs', () => {
    const layer = residualKind.create({ type: 'residual' }, [3], new Rng(1));
    expect(layer.spec).toEqual({ type: 'residual', back: 1 });
    expect(layer.skipBack).toBe(1);
    const y = layer.forwardSkip!(t([1, 3], [1, 2, 3]), t([1, 3], [10, 20, 30]), ctx);
    expect(Array.from(y.data)).toEqual([11, 22, 33]);
    const dx = layer.backward(t([1, 3], [0.5, -1, 2]), ctx);
    expect(Array.from(dx.data)).toEqual([0.5, -1, 2]);
    expect(Array.from(layer.skipGrad!().data)).toEqual([0.5, -1, 2]);
  });

  it('refuses to run without a skip, and a skip of another shape', () => {
    const layer = residualKind.create({ type: 'residual', back: 2 }, [3], new Rng(1));
    expect(() => layer.forward(t([1, 3], [1, 2, 3]), ctx)).toThrow(/residual: needs the input of the layer 2 position\(s\) back/);
    expect(() => layer.forwardSkip!(t([1, 3], [1, 2, 3]), t([1, 2], [1, 2]), ctx)).toThrow(
      /residual \(back 2\): the skip input must match the layer input: expected input shape \[3\], got \[2\]/,
    );
    expect(() => residualKind.create({ type: 'residual', back: 0 }, [3], new Rng(1))).toThrow(/residual: back must be a positive integer, got 0/);
  });

  describe('inside a sequential', () => {
    const build = (back: number): Layer =>
      createLayer({ type: 'sequential', layers: [dense(4), dense(4), { type: 'residual', back }] } as LayerSpec, [4], new Rng(2));

    it('back = 1 adds the input of the previous layer: y = d2(d1(x)) + d1(x)', () => {
      const seq = build(1);
      const [d1, d2] = seq.children!();
      const x = randomTensor([2, 4]);
      const h1 = d1!.forward(x, ctx);
      const expected = add(d2!.forward(h1, ctx), h1);
      Array.from(seq.forward(x, ctx).data).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
      expectGradientsMatch(seq, x);
    });

    it('back = 2 adds the input of the layer before that: y = d2(d1(x)) + x', () => {
      const seq = build(2);
      const [d1, d2] = seq.children!();
      const x = randomTensor([2, 4]);
      const expected = add(d2!.forward(d1!.forward(x, ctx), ctx), x);
      Array.from(seq.forward(x, ctx).data).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
      expectGradientsMatch(seq, x);
    });

    it('rejects a skip that reaches before the sequence or has another shape, at build time', () => {
      expect(() => createLayer({ type: 'sequential', layers: [dense(4), { type: 'residual', back: 2 }] } as LayerSpec, [4], new Rng(1))).toThrow(
        /sequential step 1 \(residual\): back 2 reaches before the first step/,
      );
      expect(() => createLayer({ type: 'sequential', layers: [dense(3), { type: 'residual' }] } as LayerSpec, [4], new Rng(1))).toThrow(
        /sequential step 1 \(residual\): the skip from step 0 has shape \[4\] but the step's input is \[3\]/,
      );
    });
  });

  describe('inside a network', () => {
    for (const back of [1, 2]) {
      it(`back = ${back}: the network's gradients match finite differences`, () => {
        const net = new Network(sequentialNetworkSpec([4], [dense(4), dense(4), { type: 'residual', back } as LayerSpec, dense(2)]), new Rng(3));
        const x = randomTensor([3, 4]);
        const h1 = net.layers[0]!.forward(x, ctx);
        const h2 = net.layers[1]!.forward(h1, ctx);
        const expected = net.layers[3]!.forward({ data: Float32Array.from(add(h2, back === 1 ? h1 : x)), shape: [3, 4] }, ctx);
        Array.from(net.forward(x, ctx).data).forEach((v, i) => expect(v).toBeCloseTo(expected.data[i] as number, 6));
        expectGradientsMatch(net, x);
      });
    }

    it('a skip of another shape fails with both shapes named', () => {
      const net = new Network(sequentialNetworkSpec([4], [dense(3), { type: 'residual' } as LayerSpec]), new Rng(3));
      expect(() => net.forward(randomTensor([1, 4]), ctx)).toThrow(/residual \(back 1\): the skip input must match the layer input: expected input shape \[3\], got \[4\]/);
    });
  });
});
