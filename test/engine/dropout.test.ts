import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { DenseSpec } from '../../src/engine/layers/dense.js';
import { dropoutKind, type DropoutSpec } from '../../src/engine/layers/dropout.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = (training: boolean, seed = 1) => ({ training, rng: new Rng(seed), backend: cpuJsBackend });

describe('dropout', () => {
  it('is the identity at evaluation', () => {
    const layer = dropoutKind.create({ type: 'dropout', rate: 0.5 }, [3, 4], new Rng(1));
    const x = randomTensor([2, 3, 4]);
    const y = layer.forward(x, ctx(false));
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
    expect(Array.from(layer.backward(x, ctx(false)).data)).toEqual(Array.from(x.data));
  });

  it('zeroes about rate of the values while training and scales the rest by 1/(1 − rate)', () => {
    const rate = 0.3;
    const layer = dropoutKind.create({ type: 'dropout', rate }, [1000], new Rng(1));
    const x = { data: new Float32Array(4000).fill(2), shape: [4, 1000] };
    const y = layer.forward(x, ctx(true));
    const zeros = Array.from(y.data).filter((v) => v === 0).length / y.data.length;
    expect(zeros).toBeGreaterThan(rate - 0.03);
    expect(zeros).toBeLessThan(rate + 0.03);
    for (const v of y.data) if (v !== 0) expect(v).toBeCloseTo(2 / (1 - rate), 5);
    // Inverted scaling keeps the expected value: the mean stays near the input's.
    const mean = Array.from(y.data).reduce((a, b) => a + b, 0) / y.data.length;
    expect(mean).toBeGreaterThan(1.85);
    expect(mean).toBeLessThan(2.15);
  });

  it('draws its mask from the context rng: same seed, same mask; another seed, another mask', () => {
    const layer = dropoutKind.create({ type: 'dropout', rate: 0.5 }, [64], new Rng(1));
    const x = randomTensor([2, 64]);
    const a = Array.from(layer.forward(x, ctx(true, 5)).data);
    const b = Array.from(layer.forward(x, ctx(true, 5)).data);
    const c = Array.from(layer.forward(x, ctx(true, 6)).data);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('routes gradients through the kept values only, with the same scale', () => {
    const layer = dropoutKind.create({ type: 'dropout', rate: 0.5 }, [16], new Rng(1));
    const x = randomTensor([3, 16]);
    const y = layer.forward(x, ctx(true));
    const dy = { data: new Float32Array(48).fill(1), shape: [3, 16] };
    const dx = layer.backward(dy, ctx(true));
    y.data.forEach((v, i) => expect(dx.data[i]).toBe(v === 0 ? 0 : 2));
  });

  it('passes a gradient check with a fixed mask, alone and behind a dense layer', () => {
    const hidden: DenseSpec = { type: 'dense', units: 8, activation: 'tanh' };
    const dropout: DropoutSpec = { type: 'dropout', rate: 0.25 };
    const head: DenseSpec = { type: 'dense', units: 3, activation: 'linear' };
    const layer = dropoutKind.create({ type: 'dropout', rate: 0.4 }, [3, 5], new Rng(1));
    expectGradientsMatch(layer, randomTensor([2, 3, 5]), { training: true });
    const net = new Network(
      sequentialNetworkSpec([6], [
        hidden,
        dropout,
        head,
      ]),
      new Rng(2),
    );
    expectGradientsMatch(net, randomTensor([4, 6]), { training: true });
  });

  it('rejects a rate outside [0, 1) and rebuilds from its resolved spec', () => {
    const bad: DropoutSpec = { type: 'dropout', rate: -0.1 };
    const good: DropoutSpec = { type: 'dropout', rate: 0.2 };
    expect(() => dropoutKind.create({ type: 'dropout', rate: 1 }, [4], new Rng(1))).toThrow(/dropout.*rate must be a number in \[0, 1\)/);
    expect(() => createLayer(bad, [4], new Rng(1))).toThrow(/rate/);
    const layer = createLayer(good, [2, 3], new Rng(1));
    expect(layer.spec).toEqual({ type: 'dropout', rate: 0.2 });
    expect(layer.outputShape).toEqual([2, 3]);
    expect(layer.params()).toEqual([]);
  });
});
