import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { conv1dKind, type Conv1dSpec } from '../../src/engine/layers/conv1d.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };

/** [batch][rows][cols] → [batch][cols][rows]. */
function transpose(t: Tensor): Tensor {
  const [batch, rows, cols] = t.shape as [number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[b * rows * cols + j * rows + i] = t.data[b * rows * cols + i * cols + j]!;
  return { data: out, shape: [batch, cols, rows] };
}

describe('conv1d', () => {
  it('computes a hand-worked difference filter over [channels, time]', () => {
    const layer = conv1dKind.create({ type: 'conv1d', filters: 1, kernelSize: 3 }, [1, 5], new Rng(1));
    expect(layer.params()[0]!.shape).toEqual([1, 1, 3]);
    layer.params()[0]!.value.set([1, 0, -1]);
    layer.params()[1]!.value.set([0.25]);
    const y = layer.forward({ data: Float32Array.from([1, 2, 4, 8, 16]), shape: [1, 1, 5] }, ctx);
    expect(Array.from(y.data)).toEqual([1 - 4 + 0.25, 2 - 8 + 0.25, 4 - 16 + 0.25]);
    expect(y.shape).toEqual([1, 1, 3]);
  });

  it('reads [time, channels] tokens with channelsLast and lays the kernel out [filters][channels][k]', () => {
    const layer = conv1dKind.create({ type: 'conv1d', filters: 2, kernelSize: 2, channelsLast: true }, [3, 2], new Rng(1));
    // filter 0: channel 0 (1, 1), channel 1 (0.1, 0); filter 1: channel 0 (0, 0), channel 1 (0, 1)
    layer.params()[0]!.value.set([1, 1, 0.1, 0, 0, 0, 0, 1]);
    const y = layer.forward({ data: Float32Array.from([1, 10, 2, 20, 3, 30]), shape: [1, 3, 2] }, ctx);
    expect(y.shape).toEqual([1, 2, 2]);
    const expected = [1 + 2 + 1, 20, 2 + 3 + 2, 30]; // [t][filter]
    Array.from(y.data).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('channelsLast is the NCT layer on transposed input and output', () => {
    const spec: Omit<Conv1dSpec, 'channelsLast'> = { type: 'conv1d', filters: 3, kernelSize: 3, stride: 2, padding: 1, activation: 'gelu' };
    const nct = conv1dKind.create({ ...spec, channelsLast: false }, [4, 9], new Rng(5));
    const tokens = conv1dKind.create({ ...spec, channelsLast: true }, [9, 4], new Rng(5));
    const x = randomTensor([2, 4, 9]);
    const yNct = nct.forward(x, ctx);
    const yTok = tokens.forward(transpose(x), ctx);
    expect(yTok.shape).toEqual([2, 5, 3]);
    expect(Array.from(yTok.data)).toEqual(Array.from(transpose(yNct).data));
  });

  const variants: { spec: Omit<Conv1dSpec, 'type'>; input: number[] }[] = [
    { spec: { filters: 3, kernelSize: 3 }, input: [2, 8] },
    { spec: { filters: 2, kernelSize: 2, stride: 2, activation: 'relu' }, input: [3, 9] },
    { spec: { filters: 4, kernelSize: 5, padding: 'same', activation: 'tanh' }, input: [2, 7] },
    { spec: { filters: 3, kernelSize: 3, channelsLast: true, activation: 'silu' }, input: [6, 4] },
    { spec: { filters: 2, kernelSize: 4, stride: 3, padding: 2, channelsLast: true, activation: 'sigmoid' }, input: [10, 3] },
    { spec: { filters: 5, kernelSize: 1, channelsLast: true, activation: 'leaky_relu' }, input: [4, 3] },
  ];
  variants.forEach(({ spec, input }, i) => {
    it(`gradients match finite differences for ${JSON.stringify(spec)} on ${JSON.stringify(input)}`, () => {
      const layer = conv1dKind.create({ type: 'conv1d', ...spec }, input, new Rng(20 + i));
      expectGradientsMatch(layer, randomTensor([2, ...input], 30 + i));
    });
  });

  it('computes output shapes and resolves defaults into a rebuildable spec', () => {
    const layer = conv1dKind.create({ type: 'conv1d', filters: 6, kernelSize: 3, padding: 'same', channelsLast: true }, [12, 8], new Rng(1));
    expect(layer.outputShape).toEqual([12, 6]);
    expect(layer.spec).toEqual({
      type: 'conv1d', filters: 6, kernelSize: 3, stride: 1, padding: 'same', activation: 'linear', channelsLast: true, initScale: 1,
    });
    const rebuilt = createLayer(layer.spec, layer.inputShape, new Rng(1));
    expect(rebuilt.outputShape).toEqual([12, 6]);
    expect(rebuilt.params().map((p) => [p.name, p.shape])).toEqual([['kernel', [6, 8, 3]], ['bias', [6]]]);
    const strided = conv1dKind.create({ type: 'conv1d', filters: 2, kernelSize: 4, stride: 3 }, [1, 20], new Rng(1));
    expect(strided.outputShape).toEqual([2, 6]);
  });

  it('names the layer and shapes on shape errors', () => {
    const layer = conv1dKind.create({ type: 'conv1d', filters: 2, kernelSize: 3 }, [2, 8], new Rng(1));
    expect(() => layer.forward(randomTensor([1, 8, 2]), ctx)).toThrow(/conv1d: expected input shape \[2, 8\], got \[8, 2\]/);
    expect(() => conv1dKind.create({ type: 'conv1d', filters: 2, kernelSize: 3 }, [1, 4, 4], new Rng(1))).toThrow(
      /conv1d: expected input shape \[channels, time\], got \[1, 4, 4\]/,
    );
    expect(() => conv1dKind.create({ type: 'conv1d', filters: 2, kernelSize: 3, channelsLast: true }, [16], new Rng(1))).toThrow(
      /conv1d: expected input shape \[time, channels\], got \[16\]/,
    );
    expect(() => conv1dKind.create({ type: 'conv1d', filters: 2, kernelSize: 5, channelsLast: true }, [3, 4], new Rng(1))).toThrow(
      /conv1d: expected input shape \[time ≥ 5, channels\] for kernel 5 with padding 0, got \[3, 4\]/,
    );
  });

  it('rejects bad specs with the allowed values', () => {
    const make = (spec: object): unknown => conv1dKind.create({ type: 'conv1d', filters: 2, kernelSize: 3, ...spec } as Conv1dSpec, [2, 8], new Rng(1));
    expect(() => make({ kernelSize: [1, 3] })).toThrow(/conv1d: kernelSize must be a positive integer/);
    expect(() => make({ stride: 0 })).toThrow(/conv1d: stride must be a positive integer, got 0/);
    expect(() => make({ padding: 'valid' })).toThrow(/conv1d: padding must be a non-negative integer or 'same', got "valid"/);
    expect(() => make({ padding: 'same', kernelSize: 4 })).toThrow(/conv1d: padding 'same' needs an odd kernel size/);
    expect(() => make({ activation: 'swish' })).toThrow(/conv1d: unknown activation "swish" \(known: /);
    expect(() => make({ channelsLast: 'yes' })).toThrow(/conv1d: channelsLast must be a boolean/);
  });
});
