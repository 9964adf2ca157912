import { describe, expect, it } from 'vitest';
import { createLayer } from '../../src/engine/layers/registry.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { layerNormKind } from '../../src/engine/layers/layernorm.js';
import { rmsNormKind } from '../../src/engine/layers/rmsnorm.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const t = (shape: number[], values: number[]) => ({ data: Float32Array.from(values), shape });

describe('layer_norm', () => {
  it('normalizes each row of the last axis with the population variance and ε = 1e-5', () => {
    const layer = layerNormKind.create({ type: 'layer_norm' }, [2, 4], new Rng(1));
    expect(layer.spec).toEqual({ type: 'layer_norm', epsilon: 1e-5 });
    // row 0: mean 2.5, variance 1.25; row 1: mean 0, variance 8
    const y = layer.forward(t([1, 2, 4], [1, 2, 3, 4, -4, 0, 4, 0]), ctx);
    const s0 = Math.sqrt(1.25 + 1e-5);
    const s1 = Math.sqrt(8 + 1e-5);
    const expected = [-1.5 / s0, -0.5 / s0, 0.5 / s0, 1.5 / s0, -4 / s1, 0, 4 / s1, 0];
    Array.from(y.data).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 5));
    expect(y.shape).toEqual([1, 2, 4]);
  });

  it('applies γ and β after normalizing', () => {
    const layer = layerNormKind.create({ type: 'layer_norm', epsilon: 0.75 }, [2], new Rng(1));
    const [gamma, beta] = layer.params();
    expect(Array.from(gamma!.value)).toEqual([1, 1]);
    expect(Array.from(beta!.value)).toEqual([0, 0]);
    gamma!.value.set([2, 3]);
    beta!.value.set([1, -1]);
    // x = [0, 2]: mean 1, variance 1, √(1 + 0.75) = √1.75
    const y = layer.forward(t([1, 2], [0, 2]), ctx);
    expect(y.data[0]).toBeCloseTo(2 * (-1 / Math.sqrt(1.75)) + 1, 5);
    expect(y.data[1]).toBeCloseTo(3 * (1 / Math.sqrt(1.75)) - 1, 5);
  });

  it('gradients match finite differences (input, γ, β)', () => {
    const layer = layerNormKind.create({ type: 'layer_norm' }, [3, 5], new Rng(2));
    const rng = new Rng(9);
    for (const p of layer.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = rng.uniform(0.5, 1.5);
    expectGradientsMatch(layer, randomTensor([2, 3, 5]));
  });

  it('rebuilds from its resolved spec and rejects a bad epsilon', () => {
    const layer = layerNormKind.create({ type: 'layer_norm', epsilon: 1e-3 }, [4], new Rng(1));
    expect(createLayer(layer.spec, [4], new Rng(1)).spec).toEqual({ type: 'layer_norm', epsilon: 1e-3 });
    expect(() => layerNormKind.create({ type: 'layer_norm', epsilon: -1 }, [4], new Rng(1))).toThrow(/layer_norm: epsilon must be a positive number/);
  });

  it('names the layer and shapes on a shape mismatch', () => {
    const layer = layerNormKind.create({ type: 'layer_norm' }, [2, 4], new Rng(1));
    expect(() => layer.forward(randomTensor([1, 4, 2]), ctx)).toThrow(/layer_norm: expected input shape \[2, 4\], got \[4, 2\]/);
  });
});

describe('rms_norm', () => {
  it('divides each row of the last axis by its root mean square with ε = 1e-6', () => {
    const layer = rmsNormKind.create({ type: 'rms_norm' }, [2, 2], new Rng(1));
    expect(layer.spec).toEqual({ type: 'rms_norm', epsilon: 1e-6 });
    // row 0: mean square (9 + 16)/2 = 12.5; row 1: (1 + 1)/2 = 1
    const y = layer.forward(t([1, 2, 2], [3, 4, -1, 1]), ctx);
    const r0 = Math.sqrt(12.5 + 1e-6);
    const r1 = Math.sqrt(1 + 1e-6);
    const expected = [3 / r0, 4 / r0, -1 / r1, 1 / r1];
    Array.from(y.data).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 5));
  });

  it('scales by γ and has no β', () => {
    const layer = rmsNormKind.create({ type: 'rms_norm', epsilon: 1 }, [2], new Rng(1));
    expect(layer.params().map((p) => p.name)).toEqual(['gamma']);
    layer.params()[0]!.value.set([2, -1]);
    // x = [1, 1]: mean square 1, √(1 + 1) = √2
    const y = layer.forward(t([1, 2], [1, 1]), ctx);
    expect(y.data[0]).toBeCloseTo(2 / Math.SQRT2, 5);
    expect(y.data[1]).toBeCloseTo(-1 / Math.SQRT2, 5);
  });

  it('gradients match finite differences (input, γ)', () => {
    const layer = rmsNormKind.create({ type: 'rms_norm' }, [4, 6], new Rng(2));
    const rng = new Rng(5);
    const gamma = layer.params()[0]!;
    for (let i = 0; i < gamma.value.length; i++) gamma.value[i] = rng.uniform(0.5, 1.5);
    expectGradientsMatch(layer, randomTensor([2, 4, 6]));
  });

  it('names the layer and shapes on a shape mismatch', () => {
    const layer = rmsNormKind.create({ type: 'rms_norm' }, [3], new Rng(1));
    expect(() => layer.forward(randomTensor([2, 4]), ctx)).toThrow(/rms_norm: expected input shape \[3\], got \[4\]/);
  });
});
