import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { flattenKind } from '../../src/engine/layers/flatten.js';
import { poolKind, type PoolSpec } from '../../src/engine/layers/pool.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const t = (shape: number[], values: number[]) => ({ data: Float32Array.from(values), shape });

describe('flatten', () => {
  it('turns any sample shape into one vector and back', () => {
    const layer = flattenKind.create({ type: 'flatten' }, [2, 3, 4], new Rng(1));
    expect(layer.outputShape).toEqual([24]);
    const x = randomTensor([3, 2, 3, 4]);
    const y = layer.forward(x, ctx);
    expect(y.shape).toEqual([3, 24]);
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
    const dx = layer.backward(y, ctx);
    expect(dx.shape).toEqual([3, 2, 3, 4]);
    expect(layer.params()).toEqual([]);
    expect(createLayer(layer.spec, layer.inputShape, new Rng(1)).outputShape).toEqual([24]);
  });

  it('passes gradients through unchanged', () => {
    const layer = flattenKind.create({ type: 'flatten' }, [3, 5], new Rng(1));
    expectGradientsMatch(layer, randomTensor([2, 3, 5]));
  });

  it('names the layer and shapes on a shape mismatch', () => {
    const layer = flattenKind.create({ type: 'flatten' }, [2, 3], new Rng(1));
    expect(() => layer.forward(randomTensor([1, 3, 2]), ctx)).toThrow(/flatten: expected input shape \[2, 3\], got \[3, 2\]/);
  });
});

describe('pool', () => {
  // one 1×4×4 image: rows 0..3
  const image = t([1, 1, 4, 4], [1, 5, 2, 0, 3, 4, -1, 6, 0, 0, 9, 8, 2, -2, 7, 7]);

  it('max-pools size×size windows over [C, H, W]', () => {
    const layer = poolKind.create({ type: 'pool', mode: 'max', size: 2 }, [1, 4, 4], new Rng(1));
    expect(layer.outputShape).toEqual([1, 2, 2]);
    expect(Array.from(layer.forward(image, ctx).data)).toEqual([5, 6, 2, 9]);
    // each gradient lands on its window's argmax only
    const dx = layer.backward(t([1, 1, 2, 2], [10, 20, 30, 40]), ctx);
    expect(Array.from(dx.data)).toEqual([0, 10, 0, 0, 0, 0, 0, 20, 0, 0, 40, 0, 30, 0, 0, 0]);
  });

  it('mean-pools size×size windows over [C, H, W]', () => {
    const layer = poolKind.create({ type: 'pool', mode: 'mean', size: 2 }, [1, 4, 4], new Rng(1));
    expect(Array.from(layer.forward(image, ctx).data)).toEqual([13 / 4, 7 / 4, 0, 31 / 4]);
    const dx = layer.backward(t([1, 1, 2, 2], [4, 8, 12, 16]), ctx);
    expect(Array.from(dx.data)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('pools globally over the first axis of [seq, d] tokens', () => {
    const tokens = t([1, 3, 2], [1, -4, 3, 0, 2, 5]);
    const mean = poolKind.create({ type: 'pool', mode: 'mean' }, [3, 2], new Rng(1));
    expect(mean.outputShape).toEqual([2]);
    expect(Array.from(mean.forward(tokens, ctx).data)).toEqual([2, 1 / 3].map((v) => Math.fround(v)));
    const max = poolKind.create({ type: 'pool', mode: 'max' }, [3, 2], new Rng(1));
    expect(Array.from(max.forward(tokens, ctx).data)).toEqual([3, 5]);
    expect(Array.from(max.backward(t([1, 2], [1, 2]), ctx).data)).toEqual([0, 0, 1, 0, 0, 2]);
    const flat = poolKind.create({ type: 'pool', mode: 'max' }, [4], new Rng(1));
    expect(flat.outputShape).toEqual([1]);
    expect(Array.from(flat.forward(t([1, 4], [1, 7, 3, 2]), ctx).data)).toEqual([7]);
  });

  it('max-pools 2×2 windows (the fast path) like a direct reference, with ties, NaN and odd sizes', () => {
    const [c, h, w] = [3, 5, 7];
    const rng = new Rng(8);
    // Values from a small set, so windows often tie; a few NaN, which never win (a NaN first in its window stays).
    const data = Float32Array.from({ length: 2 * c * h * w }, (_, i) => (i % 17 === 5 ? NaN : Math.floor(rng.uniform(0, 4))));
    const layer = poolKind.create({ type: 'pool', mode: 'max', size: 2 }, [c, h, w], new Rng(1));
    const y = layer.forward({ data, shape: [2, c, h, w] }, ctx).data;
    const dy = Float32Array.from(y, (_, i) => i + 1);
    const dx = layer.backward({ data: dy, shape: [2, c, 2, 3] }, ctx).data;
    const wantDx = new Float32Array(data.length);
    let o = 0;
    for (let p = 0; p < 2 * c; p++)
      for (let r = 0; r < 2; r++)
        for (let q = 0; q < 3; q++, o++) {
          let best = p * h * w + 2 * r * w + 2 * q;
          for (const [i, j] of [[0, 1], [1, 0], [1, 1]] as const) {
            const k = p * h * w + (2 * r + i) * w + 2 * q + j;
            if ((data[k] as number) > (data[best] as number)) best = k;
          }
          expect(Object.is(y[o], data[best])).toBe(true);
          wantDx[best] = (wantDx[best] as number) + (dy[o] as number);
        }
    expect(Array.from(dx)).toEqual(Array.from(wantDx));
  });

  it('floors partial windows and gives their inputs no gradient', () => {
    const layer = poolKind.create({ type: 'pool', mode: 'mean', size: 2 }, [2, 5, 3], new Rng(1));
    expect(layer.outputShape).toEqual([2, 2, 1]);
    const dx = layer.backward(layer.forward(randomTensor([1, 2, 5, 3]), ctx), ctx);
    expect(dx.data[4]).not.toBe(0); // row 1, column 1 is inside a window
    expect(dx.data[2]).toBe(0); // column 2 is outside every window
    expect(dx.data[12]).toBe(0); // row 4 is outside every window
  });

  const variants: { spec: Omit<PoolSpec, 'type'>; input: number[] }[] = [
    { spec: { mode: 'max', size: 2 }, input: [3, 4, 6] },
    { spec: { mode: 'mean', size: 3 }, input: [2, 6, 7] },
    { spec: { mode: 'max' }, input: [2, 3, 3] },
    { spec: { mode: 'mean' }, input: [5, 4] },
    { spec: { mode: 'max' }, input: [6, 3] },
    { spec: { mode: 'max', size: 2 }, input: [7, 3] },
    { spec: { mode: 'mean', size: 3 }, input: [9] },
  ];
  variants.forEach(({ spec, input }, i) => {
    it(`gradients match finite differences for ${JSON.stringify(spec)} on ${JSON.stringify(input)}`, () => {
      const layer = poolKind.create({ type: 'pool', ...spec }, input, new Rng(1));
      expectGradientsMatch(layer, randomTensor([2, ...input], 40 + i));
    });
  });

  it('resolves defaults into a rebuildable spec', () => {
    const layer = poolKind.create({ type: 'pool', size: 2 }, [4, 8, 8], new Rng(1));
    expect(layer.spec).toEqual({ type: 'pool', mode: 'mean', size: 2 });
    const global = poolKind.create({ type: 'pool', mode: 'max' }, [4, 8, 8], new Rng(1));
    expect(global.outputShape).toEqual([4]);
    expect(global.spec).toEqual({ type: 'pool', mode: 'max' });
    expect(createLayer(global.spec, [10, 16], new Rng(1)).outputShape).toEqual([16]);
    expect(createLayer({ type: 'pool', mode: 'mean', size: 2 } as PoolSpec, [10, 16], new Rng(1)).outputShape).toEqual([5, 16]);
  });

  it('names the layer and shapes on shape errors', () => {
    const layer = poolKind.create({ type: 'pool', mode: 'max', size: 2 }, [1, 4, 4], new Rng(1));
    expect(() => layer.forward(randomTensor([1, 1, 4, 5]), ctx)).toThrow(/pool: expected input shape \[1, 4, 4\], got \[1, 4, 5\]/);
    expect(() => poolKind.create({ type: 'pool', size: 4 }, [1, 3, 8], new Rng(1))).toThrow(
      /pool: expected input shape \[channels, height ≥ 4, width ≥ 4\] for size 4, got \[1, 3, 8\]/,
    );
    expect(() => poolKind.create({ type: 'pool' }, [1, 2, 3, 4], new Rng(1))).toThrow(
      /pool: expected input shape \[channels, height, width\], \[seq, features\] or \[seq\], got \[1, 2, 3, 4\]/,
    );
  });

  it('rejects bad specs with the allowed values', () => {
    expect(() => poolKind.create({ type: 'pool', mode: 'sum' } as unknown as PoolSpec, [4, 4], new Rng(1))).toThrow(
      /pool: unknown mode "sum" \(known: mean, max\)/,
    );
    expect(() => poolKind.create({ type: 'pool', size: 0 }, [1, 4, 4], new Rng(1))).toThrow(/pool: size must be a positive integer/);
  });
});
