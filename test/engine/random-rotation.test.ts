import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { Conv2dSpec } from '../../src/engine/layers/conv2d.js';
import type { DenseSpec } from '../../src/engine/layers/dense.js';
import type { FlattenSpec } from '../../src/engine/layers/flatten.js';
import { randomRotationKind, type RandomRotationSpec } from '../../src/engine/layers/random-rotation.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { readBilinear } from '../helpers/bilinear-reference.js';
import { expectAdjointResampling, expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = (training: boolean, seed = 1) => ({ training, rng: new Rng(seed), backend: cpuJsBackend });

/** A context whose rng always draws the top (or bottom) of the range: the largest rotation one way. */
const fixedAngle = (top: boolean) => {
  const rng = new Rng(1);
  rng.uniform = (lo: number, hi: number): number => (top ? hi : lo);
  return { training: true, rng, backend: cpuJsBackend };
};

/** An independent reference: `image` ([planes, h, w] flat) turned by `radians`, read at the output point turned back about the centre. */
function rotated(image: ArrayLike<number>, planes: number, h: number, w: number, radians: number): number[] {
  return readBilinear(image, planes, h, w, (r, c) => {
    const y = r - (h - 1) / 2;
    const x = c - (w - 1) / 2;
    return [(h - 1) / 2 + y * Math.cos(radians) + x * Math.sin(radians), (w - 1) / 2 - y * Math.sin(radians) + x * Math.cos(radians)];
  });
}

describe('random_rotation', () => {
  it('is the identity at evaluation and with degrees 0', () => {
    const layer = randomRotationKind.create({ type: 'random_rotation', degrees: 15 }, [2, 5, 6], new Rng(1));
    const x = randomTensor([3, 2, 5, 6]);
    expect(layer.forward(x, ctx(false))).toBe(x);
    expect(layer.backward(x, ctx(false))).toBe(x);
    const none = randomRotationKind.create({ type: 'random_rotation', degrees: 0 }, [5, 6], new Rng(1));
    const x2 = randomTensor([2, 5, 6]);
    expect(Array.from(none.forward(x2, ctx(true)).data)).toEqual(Array.from(x2.data));
  });

  it('turns a square image by a quarter exactly: every pixel lands on its rotated place', () => {
    const layer = randomRotationKind.create({ type: 'random_rotation', degrees: 90 }, [4, 4], new Rng(1));
    const x = { data: Float32Array.from({ length: 16 }, (_, i) => i), shape: [1, 4, 4] };
    const left = Array.from(layer.forward(x, fixedAngle(true)).data);
    const right = Array.from(layer.forward(x, fixedAngle(false)).data);
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        expect(left[r * 4 + c]).toBeCloseTo(c * 4 + (3 - r), 5);
        expect(right[r * 4 + c]).toBeCloseTo((3 - c) * 4 + r, 5);
      }
    }
  });

  it('turns each training image by its own angle within ±degrees, every channel alike, drawn from the context rng', () => {
    const [planes, h, w, degrees, samples] = [2, 6, 7, 20, 12];
    const layer = randomRotationKind.create({ type: 'random_rotation', degrees }, [planes, h, w], new Rng(1));
    const x = randomTensor([samples, planes, h, w]);
    const y = layer.forward(x, ctx(true, 9));
    // The layer draws one angle per sample, in order, from the context's rng.
    const draws = new Rng(9);
    const size = planes * h * w;
    const angles: number[] = [];
    for (let s = 0; s < samples; s++) {
      const angle = draws.uniform((-degrees * Math.PI) / 180, (degrees * Math.PI) / 180);
      angles.push(angle);
      const want = rotated(x.data.subarray(s * size, (s + 1) * size), planes, h, w, angle);
      const got = Array.from(y.data.subarray(s * size, (s + 1) * size));
      got.forEach((v, i) => expect(v, `sample ${s}, value ${i}`).toBeCloseTo(want[i] as number, 5));
    }
    // The angles spread over the range, both ways.
    expect(Math.min(...angles)).toBeLessThan(-0.1);
    expect(Math.max(...angles)).toBeGreaterThan(0.1);
    // Same seed, same images; another seed, others.
    expect(Array.from(layer.forward(x, ctx(true, 9)).data)).toEqual(Array.from(y.data));
    expect(Array.from(layer.forward(x, ctx(true, 10)).data)).not.toEqual(Array.from(y.data));
  });

  it('sends each gradient back to the pixels it was read from: the adjoint of the forward, nothing lost', () => {
    // ⟨rotate(x), g⟩ = ⟨x, backward(g)⟩ for any x and g, clamped edges included; bilinear weights sum to 1.
    const layer = randomRotationKind.create({ type: 'random_rotation', degrees: 40 }, [3, 5, 6], new Rng(1));
    expectAdjointResampling(layer, [6, 3, 5, 6], () => ctx(true));
  });

  it('passes a gradient check with fixed angles, alone and in front of a conv net', () => {
    const layer = randomRotationKind.create({ type: 'random_rotation', degrees: 30 }, [2, 5, 5], new Rng(1));
    expectGradientsMatch(layer, randomTensor([3, 2, 5, 5]), { training: true });
    const rotation: RandomRotationSpec = { type: 'random_rotation', degrees: 25 };
    const conv: Conv2dSpec = { type: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh' };
    const flatten: FlattenSpec = { type: 'flatten' };
    const head: DenseSpec = { type: 'dense', units: 3, activation: 'linear' };
    const net = new Network(sequentialNetworkSpec([1, 6, 6], [rotation, conv, flatten, head]), new Rng(2));
    expectGradientsMatch(net, randomTensor([2, 1, 6, 6]), { training: true });
  });

  it('rejects degrees outside [0, 180] and inputs that are not images, and rebuilds from its spec', () => {
    const bad = (degrees: unknown): RandomRotationSpec => ({ type: 'random_rotation', degrees: degrees as number });
    expect(() => randomRotationKind.create(bad(181), [8, 8], new Rng(1))).toThrow(/random_rotation.*degrees must be a number in \[0, 180\], got 181/);
    expect(() => createLayer(bad(-1), [8, 8], new Rng(1))).toThrow(/degrees/);
    expect(() => createLayer(bad('15'), [8, 8], new Rng(1))).toThrow(/degrees/);
    expect(() => createLayer(bad(Number.NaN), [8, 8], new Rng(1))).toThrow(/degrees/);
    expect(() => createLayer({ type: 'random_rotation', degrees: 10 } as RandomRotationSpec, [16], new Rng(1))).toThrow(/needs an image input.*\[16\]/);
    const layer = createLayer({ type: 'random_rotation', degrees: 12.5 } as RandomRotationSpec, [1, 4, 4], new Rng(1));
    expect(layer.spec).toEqual({ type: 'random_rotation', degrees: 12.5 });
    expect(layer.outputShape).toEqual([1, 4, 4]);
    expect(layer.params()).toEqual([]);
  });
});
