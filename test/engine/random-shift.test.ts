import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { Conv2dSpec } from '../../src/engine/layers/conv2d.js';
import type { DenseSpec } from '../../src/engine/layers/dense.js';
import type { FlattenSpec } from '../../src/engine/layers/flatten.js';
import { randomShiftKind, type RandomShiftSpec } from '../../src/engine/layers/random-shift.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { expectAdjointResampling, expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = (training: boolean, seed = 1) => ({ training, rng: new Rng(seed), backend: cpuJsBackend });

/** An independent reference: `image` ([planes, h, w] flat) moved by (dr, dc), edge pixels repeated. */
function shifted(image: ArrayLike<number>, planes: number, h: number, w: number, dr: number, dc: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const rr = Math.min(h - 1, Math.max(0, r - dr));
        const cc = Math.min(w - 1, Math.max(0, c - dc));
        out.push(image[(p * h + rr) * w + cc] as number);
      }
    }
  }
  return out;
}

/** The shift (dr, dc) in [−pixels, pixels]² that turns `input` into `output`, or null when none does. */
function findShift(input: ArrayLike<number>, output: readonly number[], planes: number, h: number, w: number, pixels: number): [number, number] | null {
  for (let dr = -pixels; dr <= pixels; dr++) {
    for (let dc = -pixels; dc <= pixels; dc++) {
      if (shifted(input, planes, h, w, dr, dc).every((v, i) => v === output[i])) return [dr, dc];
    }
  }
  return null;
}

describe('random_shift', () => {
  it('is the identity at evaluation and with pixels 0', () => {
    const layer = randomShiftKind.create({ type: 'random_shift', pixels: 2 }, [2, 5, 6], new Rng(1));
    const x = randomTensor([3, 2, 5, 6]);
    expect(layer.forward(x, ctx(false))).toBe(x);
    expect(layer.backward(x, ctx(false))).toBe(x);
    const none = randomShiftKind.create({ type: 'random_shift', pixels: 0 }, [5, 6], new Rng(1));
    const x2 = randomTensor([2, 5, 6]);
    expect(Array.from(none.forward(x2, ctx(true)).data)).toEqual(Array.from(x2.data));
  });

  it('moves each training image by its own shift within ±pixels, every channel alike, edges repeated', () => {
    const [planes, h, w, pixels, samples] = [2, 5, 7, 2, 60];
    const layer = randomShiftKind.create({ type: 'random_shift', pixels }, [planes, h, w], new Rng(1));
    // Distinct values, so exactly one shift explains each output.
    const x = randomTensor([samples, planes, h, w]);
    const y = layer.forward(x, ctx(true));
    const size = planes * h * w;
    const seen = new Set<string>();
    for (let s = 0; s < samples; s++) {
      const input = x.data.subarray(s * size, (s + 1) * size);
      const found = findShift(input, Array.from(y.data.subarray(s * size, (s + 1) * size)), planes, h, w, pixels);
      expect(found, `sample ${s}`).not.toBeNull();
      seen.add(String(found));
    }
    // 60 draws over the 25 shifts reach most of them, the unshifted one among many.
    expect(seen.size).toBeGreaterThan(15);
  });

  it('draws its shifts from the context rng: same seed, same images; another seed, others', () => {
    const layer = randomShiftKind.create({ type: 'random_shift', pixels: 3 }, [6, 6], new Rng(1));
    const x = randomTensor([8, 6, 6]);
    const a = Array.from(layer.forward(x, ctx(true, 5)).data);
    expect(Array.from(layer.forward(x, ctx(true, 5)).data)).toEqual(a);
    expect(Array.from(layer.forward(x, ctx(true, 6)).data)).not.toEqual(a);
  });

  it('sends each gradient back to the pixel it was copied from: the adjoint of the forward', () => {
    // ⟨shift(x), g⟩ = ⟨x, backward(g)⟩ for any x and g, edge copies included; every output value is one input value.
    const layer = randomShiftKind.create({ type: 'random_shift', pixels: 2 }, [3, 4, 5], new Rng(1));
    expectAdjointResampling(layer, [6, 3, 4, 5], () => ctx(true));
  });

  it('passes a gradient check with fixed shifts, alone and in front of a conv net', () => {
    const layer = randomShiftKind.create({ type: 'random_shift', pixels: 2 }, [2, 5, 5], new Rng(1));
    expectGradientsMatch(layer, randomTensor([3, 2, 5, 5]), { training: true });
    const shift: RandomShiftSpec = { type: 'random_shift', pixels: 1 };
    const conv: Conv2dSpec = { type: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh' };
    const flatten: FlattenSpec = { type: 'flatten' };
    const head: DenseSpec = { type: 'dense', units: 3, activation: 'linear' };
    const net = new Network(sequentialNetworkSpec([1, 6, 6], [shift, conv, flatten, head]), new Rng(2));
    expectGradientsMatch(net, randomTensor([2, 1, 6, 6]), { training: true });
  });

  it('rejects pixels that are not a small whole number and inputs that are not images, and rebuilds from its spec', () => {
    const bad = (pixels: unknown): RandomShiftSpec => ({ type: 'random_shift', pixels: pixels as number });
    expect(() => randomShiftKind.create(bad(1.5), [8, 8], new Rng(1))).toThrow(/random_shift.*pixels must be an integer in \[0, 64\], got 1.5/);
    expect(() => createLayer(bad(-1), [8, 8], new Rng(1))).toThrow(/pixels/);
    expect(() => createLayer(bad('2'), [8, 8], new Rng(1))).toThrow(/pixels/);
    expect(() => createLayer({ type: 'random_shift', pixels: 1 } as RandomShiftSpec, [16], new Rng(1))).toThrow(/needs an image input.*\[16\]/);
    const layer = createLayer({ type: 'random_shift', pixels: 2 } as RandomShiftSpec, [1, 4, 4], new Rng(1));
    expect(layer.spec).toEqual({ type: 'random_shift', pixels: 2 });
    expect(layer.outputShape).toEqual([1, 4, 4]);
    expect(layer.params()).toEqual([]);
  });
});
