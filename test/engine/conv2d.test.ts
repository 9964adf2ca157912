import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS } from '../../src/engine/activations.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { conv2dBackwardJs, conv2dJs } from '../../src/engine/backend/cpu-conv2d.js';
import type { Backend, Conv2dArgs } from '../../src/engine/backend/types.js';
import { conv2dKind, type Conv2dSpec } from '../../src/engine/layers/conv2d.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };

const randomArray = (n: number, rng: Rng): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

describe('conv2d kernel (cpu-js)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // tfjs is the oracle: NHWC input, [kh][kw][inC][outC] filter, explicit symmetric padding.
  const configs = [
    { batch: 2, inC: 3, inH: 6, inW: 5, outC: 4, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
    { batch: 1, inC: 2, inH: 7, inW: 8, outC: 3, kH: 2, kW: 3, strideH: 2, strideW: 2, padH: 0, padW: 1 },
    { batch: 2, inC: 1, inH: 5, inW: 9, outC: 2, kH: 1, kW: 4, strideH: 1, strideW: 3, padH: 2, padW: 0 },
    { batch: 3, inC: 4, inH: 3, inW: 3, outC: 5, kH: 1, kW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0 },
    // stride > 1 and padding > 0 in the height, and nothing square: catches a wrong row offset in col2im
    { batch: 2, inC: 2, inH: 8, inW: 5, outC: 3, kH: 3, kW: 2, strideH: 2, strideW: 1, padH: 1, padW: 0 },
  ];
  for (const g of configs) {
    it(`matches tfjs forward and gradients for ${JSON.stringify(g)}`, () => {
      const outH = Math.floor((g.inH + 2 * g.padH - g.kH) / g.strideH) + 1;
      const outW = Math.floor((g.inW + 2 * g.padW - g.kW) / g.strideW) + 1;
      const rng = new Rng(11);
      const args: Conv2dArgs = {
        ...g, outH, outW,
        x: randomArray(g.batch * g.inC * g.inH * g.inW, rng),
        w: randomArray(g.outC * g.inC * g.kH * g.kW, rng),
        bias: randomArray(g.outC, rng),
        y: new Float32Array(g.batch * g.outC * outH * outW),
      };
      conv2dJs(args);
      const dy = randomArray(args.y.length, rng);
      const dx = new Float32Array(args.x.length).fill(7); // must be overwritten
      const dw = new Float32Array(args.w.length);
      const db = new Float32Array(g.outC);
      conv2dBackwardJs({ ...args, dy, dx, dw, db });

      const xT = tf.tensor4d(args.x, [g.batch, g.inC, g.inH, g.inW]).transpose([0, 2, 3, 1]);
      const wT = tf.tensor4d(args.w, [g.outC, g.inC, g.kH, g.kW]).transpose([2, 3, 1, 0]);
      const bT = tf.tensor1d(args.bias);
      const dyT = tf.tensor4d(dy, [g.batch, g.outC, outH, outW]).transpose([0, 2, 3, 1]);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [g.padH, g.padH], [g.padW, g.padW], [0, 0]];
      const f = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D =>
        tf.add(tf.conv2d(x, w, [g.strideH, g.strideW], pad), b);
      const yRef = f(xT as tf.Tensor4D, wT as tf.Tensor4D, bT).transpose([0, 3, 1, 2]).dataSync();
      const [gx, gw, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D), dyT)))([xT, wT, bT]);
      const close = (actual: Float32Array, expected: ArrayLike<number>): void => {
        expect(actual.length).toBe(expected.length);
        for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i] as number, 4);
      };
      close(args.y, yRef);
      close(dx, (gx as tf.Tensor).transpose([0, 3, 1, 2]).dataSync());
      close(dw, (gw as tf.Tensor).transpose([3, 2, 0, 1]).dataSync());
      close(db, (gb as tf.Tensor).dataSync());
    });
  }

  it('accumulates dw and db but overwrites dx', () => {
    const rng = new Rng(5);
    const args: Conv2dArgs = {
      batch: 1, inC: 2, inH: 4, inW: 4, outC: 2, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 4, outW: 4,
      x: randomArray(32, rng), w: randomArray(36, rng), bias: new Float32Array(2), y: new Float32Array(32),
    };
    const dy = randomArray(32, rng);
    const once = { dx: new Float32Array(32), dw: new Float32Array(36), db: new Float32Array(2) };
    conv2dBackwardJs({ ...args, dy, ...once });
    const twice = { dx: new Float32Array(32), dw: new Float32Array(36), db: new Float32Array(2) };
    conv2dBackwardJs({ ...args, dy, ...twice });
    conv2dBackwardJs({ ...args, dy, ...twice });
    for (let i = 0; i < 36; i++) expect(twice.dw[i]).toBeCloseTo(2 * once.dw[i]!, 5);
    for (let i = 0; i < 2; i++) expect(twice.db[i]).toBeCloseTo(2 * once.db[i]!, 5);
    expect(Array.from(twice.dx)).toEqual(Array.from(once.dx));
  });

  it('rejects an output size that does not match the geometry', () => {
    const args: Conv2dArgs = {
      batch: 1, inC: 1, inH: 4, inW: 4, outC: 1, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 0, padW: 0, outH: 4, outW: 4,
      x: new Float32Array(16), w: new Float32Array(9), bias: new Float32Array(1), y: new Float32Array(16),
    };
    expect(() => conv2dJs(args)).toThrow(/conv2d: output 4×4 does not match the geometry, which gives 2×2/);
  });
});

describe('conv2d layer', () => {
  it('computes a hand-worked 2×2 convolution with bias', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 1, kernelSize: 2 }, [1, 3, 3], new Rng(1));
    layer.params()[0]!.value.set([1, 2, 3, 4]);
    layer.params()[1]!.value.set([0.5]);
    const y = layer.forward({ data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), shape: [1, 1, 3, 3] }, ctx);
    // top-left: 1·1 + 2·2 + 4·3 + 5·4 = 37, and so on, each + 0.5
    expect(Array.from(y.data)).toEqual([37.5, 47.5, 67.5, 77.5]);
    expect(y.shape).toEqual([1, 1, 2, 2]);
  });

  it('pads with zeros and strides', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 1, kernelSize: 3, stride: 2, padding: 1 }, [1, 3, 3], new Rng(1));
    layer.params()[0]!.value.fill(1);
    const y = layer.forward({ data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), shape: [1, 1, 3, 3] }, ctx);
    // windows centred on the corners see only their 2×2 quadrant
    expect(Array.from(y.data)).toEqual([1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
  });

  it('lays the kernel out [filters][channels][kh][kw]', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: 1 }, [3, 1, 2], new Rng(1));
    expect(layer.params()[0]!.shape).toEqual([2, 3, 1, 1]);
    layer.params()[0]!.value.set([1, 10, 100, -1, 0, 2]); // filter 0: (1, 10, 100); filter 1: (-1, 0, 2)
    // x[c][0][w]: channel c, columns (a, b)
    const y = layer.forward({ data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 3, 1, 2] }, ctx);
    expect(Array.from(y.data)).toEqual([1 + 30 + 500, 2 + 40 + 600, -1 + 10, -2 + 12]);
  });

  ACTIVATIONS.forEach((activation, i) => {
    const variants: Omit<Conv2dSpec, 'type' | 'activation'>[] = [
      { filters: 3, kernelSize: 3, padding: 1 },
      { filters: 2, kernelSize: [2, 3], stride: 2 },
      { filters: 4, kernelSize: 3, padding: 'same' },
      { filters: 2, kernelSize: [3, 1], stride: [1, 2], padding: [0, 1] },
      { filters: 3, kernelSize: 1 },
    ];
    const variant = variants[i % variants.length]!;
    it(`gradients match finite differences with ${activation} and ${JSON.stringify(variant)}`, () => {
      const layer = conv2dKind.create({ type: 'conv2d', activation, ...variant }, [2, 5, 6], new Rng(2 + i));
      expectGradientsMatch(layer, randomTensor([2, 2, 5, 6], 10 + i));
    });
  });

  it('gradients match with stride and padding in the height only, on a non-square input and kernel', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: [3, 2], stride: [2, 1], padding: [1, 0], activation: 'tanh' }, [2, 7, 5], new Rng(4));
    expect(layer.outputShape).toEqual([2, 4, 4]);
    expectGradientsMatch(layer, randomTensor([2, 2, 7, 5], 21));
  });

  it('gradients match with a large stride that skips input pixels', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: 2, stride: 3, activation: 'tanh' }, [1, 7, 7], new Rng(3));
    expect(layer.outputShape).toEqual([2, 2, 2]);
    expectGradientsMatch(layer, randomTensor([2, 1, 7, 7]));
  });

  it('computes output shapes and resolves defaults into a rebuildable spec', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 8, kernelSize: [3, 5], stride: 2, padding: [1, 2] }, [3, 16, 15], new Rng(1));
    expect(layer.outputShape).toEqual([8, 8, 8]);
    const same = conv2dKind.create({ type: 'conv2d', filters: 4, kernelSize: 5, padding: 'same' }, [2, 9, 7], new Rng(1));
    expect(same.outputShape).toEqual([4, 9, 7]);
    expect(same.spec).toEqual({ type: 'conv2d', filters: 4, kernelSize: 5, stride: 1, padding: 'same', activation: 'linear', initScale: 1 });
    const rebuilt = createLayer(layer.spec, layer.inputShape, new Rng(1));
    expect(rebuilt.outputShape).toEqual(layer.outputShape);
    expect(rebuilt.params().map((p) => [p.name, p.shape])).toEqual([['kernel', [8, 3, 3, 5]], ['bias', [8]]]);
    expect(Array.from(rebuilt.params()[0]!.value)).toEqual(Array.from(layer.params()[0]!.value));
  });

  it('initializes He-normal √(2/(C·kh·kw)) times initScale, bias 0', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 64, kernelSize: 3, initScale: 0.5 }, [8, 5, 5], new Rng(9));
    const w = layer.params()[0]!.value;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.5 * Math.sqrt(2 / 72) * 0.95);
    expect(std).toBeLessThan(0.5 * Math.sqrt(2 / 72) * 1.05);
    expect(Array.from(layer.params()[1]!.value).every((v) => v === 0)).toBe(true);
  });

  it('runs through the backend it is given', () => {
    const calls: string[] = [];
    const spy: Backend = {
      ...cpuJsBackend,
      conv2d: (a) => { calls.push('conv2d'); cpuJsBackend.conv2d(a); },
      conv2dBackward: (a) => { calls.push('conv2dBackward'); cpuJsBackend.conv2dBackward(a); },
    };
    const layer = conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: 3 }, [1, 4, 4], new Rng(1));
    const y = layer.forward(randomTensor([1, 1, 4, 4]), { ...ctx, backend: spy });
    layer.backward(y, { ...ctx, backend: spy });
    expect(calls).toEqual(['conv2d', 'conv2dBackward']);
  });

  it('names the layer and shapes on shape errors', () => {
    const layer = conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: 3 }, [1, 8, 8], new Rng(1));
    expect(() => layer.forward(randomTensor([2, 1, 8, 9]), ctx)).toThrow(/conv2d: expected input shape \[1, 8, 8\], got \[1, 8, 9\]/);
    expect(() => conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: 3 }, [64], new Rng(1))).toThrow(
      /conv2d: expected input shape \[channels, height, width\], got \[64\]/,
    );
    expect(() => conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: 5 }, [1, 4, 8], new Rng(1))).toThrow(
      /conv2d: expected input shape \[channels, height ≥ 5, width ≥ 5\] for a 5×5 kernel with padding 0×0, got \[1, 4, 8\]/,
    );
  });

  it('rejects bad specs with the allowed values', () => {
    const make = (spec: object): unknown => conv2dKind.create({ type: 'conv2d', filters: 2, kernelSize: 3, ...spec } as Conv2dSpec, [1, 8, 8], new Rng(1));
    expect(() => make({ filters: 0 })).toThrow(/conv2d: filters must be a positive integer, got 0/);
    expect(() => make({ kernelSize: [3] })).toThrow(/conv2d: kernelSize must be an integer ≥ 1 or a pair/);
    expect(() => make({ padding: -1 })).toThrow(/conv2d: padding must be an integer ≥ 0/);
    expect(() => make({ padding: 'same', stride: 2 })).toThrow(/conv2d: padding 'same' needs stride 1/);
    expect(() => make({ padding: 'same', kernelSize: 2 })).toThrow(/conv2d: padding 'same' needs an odd kernel size/);
    expect(() => make({ activation: 'swish' })).toThrow(/conv2d: unknown activation "swish" \(known: scaled_relu, /);
    let caught: unknown;
    try {
      make({ filters: 1.5 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ name: 'LoomError', code: 'LOOM_ERR_SPEC' });
  });
});
