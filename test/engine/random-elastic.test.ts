import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { Conv2dSpec } from '../../src/engine/layers/conv2d.js';
import type { DenseSpec } from '../../src/engine/layers/dense.js';
import type { FlattenSpec } from '../../src/engine/layers/flatten.js';
import { randomElasticKind, type RandomElasticSpec } from '../../src/engine/layers/random-elastic.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { readBilinear } from '../helpers/bilinear-reference.js';
import { expectAdjointResampling, expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = (training: boolean, seed = 1) => ({ training, rng: new Rng(seed), backend: cpuJsBackend });

/**
 * An independent reference for one sample: its displacement fields drawn from `rng` (pixel by pixel in row order,
 * y then x, uniform in [−1, 1]), smoothed by a direct 2-D sum over a Gaussian cut at 3σ (zero outside the image, the
 * 1-D weights normalized to sum to 1), scaled by α; then every plane read bilinearly at (r + α·dy, c + α·dx).
 */
function distorted(image: ArrayLike<number>, planes: number, h: number, w: number, alpha: number, sigma: number, rng: Rng): number[] {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const g = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const total = g.reduce((a, b) => a + b, 0);
  const weight = (k: number): number => (Math.abs(k) > radius ? 0 : (g[k + radius] as number) / total);
  const raw: [number, number][] = [];
  for (let i = 0; i < h * w; i++) raw.push([rng.uniform(-1, 1), rng.uniform(-1, 1)]);
  const smoothed = (axis: 0 | 1, r: number, c: number): number => {
    let acc = 0;
    for (let rr = 0; rr < h; rr++) for (let cc = 0; cc < w; cc++) acc += weight(rr - r) * weight(cc - c) * (raw[rr * w + cc] as [number, number])[axis];
    return acc;
  };
  const dy = Array.from({ length: h * w }, (_, i) => smoothed(0, Math.floor(i / w), i % w));
  const dx = Array.from({ length: h * w }, (_, i) => smoothed(1, Math.floor(i / w), i % w));
  return readBilinear(image, planes, h, w, (r, c) => [r + alpha * (dy[r * w + c] as number), c + alpha * (dx[r * w + c] as number)]);
}

describe('random_elastic', () => {
  it('is the identity at evaluation and with alpha 0', () => {
    const layer = randomElasticKind.create({ type: 'random_elastic', alpha: 8, sigma: 2 }, [2, 5, 6], new Rng(1));
    const x = randomTensor([3, 2, 5, 6]);
    expect(layer.forward(x, ctx(false))).toBe(x);
    expect(layer.backward(x, ctx(false))).toBe(x);
    const none = randomElasticKind.create({ type: 'random_elastic', alpha: 0, sigma: 2 }, [5, 6], new Rng(1));
    const x2 = randomTensor([2, 5, 6]);
    expect(Array.from(none.forward(x2, ctx(true)).data)).toEqual(Array.from(x2.data));
  });

  it('warps each training image by its own smoothed random field, every channel alike, drawn from the context rng', () => {
    const [planes, h, w, alpha, sigma, samples] = [2, 7, 9, 6, 1.5, 5];
    const layer = randomElasticKind.create({ type: 'random_elastic', alpha, sigma }, [planes, h, w], new Rng(1));
    const x = randomTensor([samples, planes, h, w]);
    const y = layer.forward(x, ctx(true, 9));
    const draws = new Rng(9);
    const size = planes * h * w;
    for (let s = 0; s < samples; s++) {
      const want = distorted(x.data.subarray(s * size, (s + 1) * size), planes, h, w, alpha, sigma, draws);
      const got = Array.from(y.data.subarray(s * size, (s + 1) * size));
      got.forEach((v, i) => expect(v, `sample ${s}, value ${i}`).toBeCloseTo(want[i] as number, 5));
    }
    // Same seed, same images; another seed, others.
    expect(Array.from(layer.forward(x, ctx(true, 9)).data)).toEqual(Array.from(y.data));
    expect(Array.from(layer.forward(x, ctx(true, 10)).data)).not.toEqual(Array.from(y.data));
  });

  it('moves pixels further with a larger alpha and keeps a constant image constant', () => {
    // A smooth image (a diagonal ramp): how far the output is from it grows with the displacement's scale.
    const [h, w] = [28, 28];
    const ramp = { data: Float32Array.from({ length: 4 * h * w }, (_, i) => ((i % (h * w)) % w) / w + Math.floor((i % (h * w)) / w) / h), shape: [4, h, w] };
    const moved = (alpha: number): number => {
      const y = randomElasticKind.create({ type: 'random_elastic', alpha, sigma: 4 }, [h, w], new Rng(1)).forward(ramp, ctx(true, 5));
      return y.data.reduce((s, v, i) => s + Math.abs(v - (ramp.data[i] as number)), 0) / y.data.length;
    };
    const [small, large] = [moved(4), moved(34)];
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(4 * small);
    const flat = { data: new Float32Array(2 * h * w).fill(0.25), shape: [2, h, w] };
    const y = randomElasticKind.create({ type: 'random_elastic', alpha: 34, sigma: 4 }, [h, w], new Rng(1)).forward(flat, ctx(true, 5));
    for (const v of y.data) expect(v).toBeCloseTo(0.25, 6);
  });

  it('sends each gradient back to the pixels it was read from: the adjoint of the forward, nothing lost', () => {
    const layer = randomElasticKind.create({ type: 'random_elastic', alpha: 10, sigma: 1.5 }, [3, 5, 6], new Rng(1));
    expectAdjointResampling(layer, [6, 3, 5, 6], () => ctx(true));
  });

  it('passes a gradient check with fixed fields, alone and in front of a conv net', () => {
    const layer = randomElasticKind.create({ type: 'random_elastic', alpha: 5, sigma: 1 }, [2, 5, 5], new Rng(1));
    expectGradientsMatch(layer, randomTensor([3, 2, 5, 5]), { training: true });
    const elastic: RandomElasticSpec = { type: 'random_elastic', alpha: 6, sigma: 1.2 };
    const conv: Conv2dSpec = { type: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh' };
    const flatten: FlattenSpec = { type: 'flatten' };
    const head: DenseSpec = { type: 'dense', units: 3, activation: 'linear' };
    const net = new Network(sequentialNetworkSpec([1, 6, 6], [elastic, conv, flatten, head]), new Rng(2));
    expectGradientsMatch(net, randomTensor([2, 1, 6, 6]), { training: true });
  });

  it('rejects bad alpha or sigma and inputs that are not images, and rebuilds from its spec', () => {
    const spec = (alpha: unknown, sigma: unknown): RandomElasticSpec => ({ type: 'random_elastic', alpha: alpha as number, sigma: sigma as number });
    expect(() => randomElasticKind.create(spec(-1, 4), [8, 8], new Rng(1))).toThrow(/random_elastic.*alpha must be a number of pixels in \[0, 1000\], got -1/);
    expect(() => createLayer(spec('34', 4), [8, 8], new Rng(1))).toThrow(/alpha/);
    expect(() => createLayer(spec(Number.NaN, 4), [8, 8], new Rng(1))).toThrow(/alpha/);
    expect(() => createLayer(spec(34, 0), [8, 8], new Rng(1))).toThrow(/sigma must be a number of pixels in \[0.1, 100\], got 0/);
    expect(() => createLayer(spec(34, undefined), [8, 8], new Rng(1))).toThrow(/sigma/);
    expect(() => createLayer(spec(34, 4), [16], new Rng(1))).toThrow(/needs an image input.*\[16\]/);
    const layer = createLayer(spec(34, 4), [1, 4, 4], new Rng(1));
    expect(layer.spec).toEqual({ type: 'random_elastic', alpha: 34, sigma: 4 });
    expect(layer.outputShape).toEqual([1, 4, 4]);
    expect(layer.params()).toEqual([]);
  });
});
