import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { softmaxKind, SOFTMAX_VARIANTS, type SoftmaxSpec } from '../../src/engine/layers/softmax.js';
import {
  entmaxBisectionRow, entmaxGeneralBackwardRow, softmaxBackwardRow, softmaxRow, sparsemaxBackwardRow, sparsemaxRow,
} from '../../src/engine/layers/softmax/rows.js';
import type { Layer, RunContext } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectGradientsMatch, gradCheck, randomTensor } from '../helpers/gradcheck.js';

const evalCtx = (seed = 1): RunContext => ({ training: false, rng: new Rng(seed), backend: cpuJsBackend });
const trainCtx = (seed = 1): RunContext => ({ training: true, rng: new Rng(seed), backend: cpuJsBackend });

const build = (spec: Omit<SoftmaxSpec, 'type'>, inputShape: readonly number[]): Layer<SoftmaxSpec> =>
  softmaxKind.create({ type: 'softmax', ...spec }, inputShape, new Rng(1));

/** Runs one sample (or a batch when `values` holds several) through the layer in eval mode. */
function run(layer: Layer, values: readonly number[], ctx = evalCtx()): number[] {
  const batch = values.length / layer.inputShape.reduce((a, b) => a * b, 1);
  return Array.from(layer.forward({ data: Float32Array.from(values), shape: [batch, ...layer.inputShape] }, ctx).data);
}

function expectClose(actual: readonly number[], expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a, `entry ${i} of [${actual.join(', ')}]`).toBeCloseTo(expected[i]!, digits));
}

/** Sums of consecutive chunks of `size`. */
const rowSums = (values: readonly number[], size: number): number[] =>
  Array.from({ length: values.length / size }, (_, r) => values.slice(r * size, (r + 1) * size).reduce((a, b) => a + b, 0));

const sparsemaxOf = (z: Float64Array): Float64Array => {
  const y = new Float64Array(z.length);
  sparsemaxRow(z, y);
  return y;
};

const sample = (shape: readonly number[], values: readonly number[]): Tensor => ({ data: Float32Array.from(values), shape: [...shape] });

describe('softmax: reference values (loom-behaviour §9)', () => {
  it('standard softmax of [1,2,3,4]', () => {
    expectClose(run(build({}, [4]), [1, 2, 3, 4]), [0.032059, 0.087144, 0.236883, 0.643914]);
  });

  it('temperature 0.5, as standard and as the temperature variant', () => {
    const expected = [0.002144, 0.015842, 0.117059, 0.864955];
    expectClose(run(build({ temperature: 0.5 }, [4]), [1, 2, 3, 4]), expected);
    expectClose(run(build({ variant: 'temperature', temperature: 0.5 }, [4]), [1, 2, 3, 4]), expected);
  });

  it('grid 2×2 over the sample, over the last axis, and across last-axis rows', () => {
    const expected = [0.268941, 0.731059, 0.268941, 0.731059];
    expectClose(run(build({ variant: 'grid', rows: 2, cols: 2 }, [4]), [1, 2, 3, 4]), expected);
    // rows·cols = last axis: each of the 3 rows of 4 holds two distributions.
    expectClose(run(build({ variant: 'grid', rows: 2, cols: 2 }, [3, 4]), [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]), [...expected, ...expected, ...expected]);
    // rows·cols = sample size (2×3): distributions of 2 span the last axis.
    expectClose(run(build({ variant: 'grid', rows: 3, cols: 2 }, [2, 3]), [1, 2, 3, 4, 0, 0]), [...expected, 0.5, 0.5]);
  });

  it('grid rejects rows·cols that match neither the last axis nor the sample', () => {
    expect(() => build({ variant: 'grid', rows: 3, cols: 3 }, [2, 4])).toThrow(/softmax: .*9 \(grid 3×3\), got \[2, 4\]/);
    expect(() => build({ variant: 'grid', rows: 2 }, [4])).toThrow(/grid needs positive integer "rows" and "cols"/);
  });

  it('applies per row of the last axis over a batch', () => {
    const y = run(build({}, [2, 4]), [1, 2, 3, 4, 0, 0, 0, 0, 4, 3, 2, 1, 5, 5, 5, 5]);
    expectClose(y.slice(0, 4), [0.032059, 0.087144, 0.236883, 0.643914]);
    expectClose(y.slice(8, 12), [0.643914, 0.236883, 0.087144, 0.032059]);
    expectClose(y.slice(12), [0.25, 0.25, 0.25, 0.25]);
    expectClose(rowSums(y, 4), [1, 1, 1, 1]);
  });
});

describe('softmax: sparse maps', () => {
  it('sparsemax([1,2,3,4]) = [0,0,0,1] (LOOM gives all zeros)', () => {
    expect(run(build({ variant: 'sparsemax' }, [4]), [1, 2, 3, 4])).toEqual([0, 0, 0, 1]);
  });

  it('sparsemax with a support of two: [0.1, 0.5, 0.8] → τ = 0.15 → [0, 0.35, 0.65]', () => {
    expectClose(run(build({ variant: 'sparsemax' }, [3]), [0.1, 0.5, 0.8]), [0, 0.35, 0.65]);
    // support of three: [0.9, 0.6, 0.3, 0.1, -0.5] → τ = 0.8/3
    const tau = 0.8 / 3;
    expectClose(run(build({ variant: 'sparsemax' }, [5]), [0.9, 0.6, 0.3, 0.1, -0.5]), [0.9 - tau, 0.6 - tau, 0.3 - tau, 0, 0]);
  });

  it('entmax α=1 is softmax and α=2 is sparsemax; α near the ends approaches them', () => {
    const x = randomTensor([5, 6], 11, -2, 2).data;
    const soft = run(build({}, [6]), Array.from(x));
    const sparse = run(build({ variant: 'sparsemax' }, [6]), Array.from(x));
    expectClose(run(build({ variant: 'entmax', alpha: 1 }, [6]), Array.from(x)), soft, 7);
    expectClose(run(build({ variant: 'entmax', alpha: 2 }, [6]), Array.from(x)), sparse, 7);
    expectClose(run(build({ variant: 'entmax', alpha: 1.001 }, [6]), Array.from(x)), soft, 2);
    expectClose(run(build({ variant: 'entmax', alpha: 1.999 }, [6]), Array.from(x)), sparse, 2);
  });

  it('entmax α=1 and α=2 through the general (bisection) path agree with the softmax/sparsemax shortcuts', () => {
    // The layer takes the shortcuts at exactly 1 and 2, so without this the general path is only seen at 1 < α < 2.
    const rows = randomTensor([6, 7], 12, -3, 3).data;
    for (let r = 0; r < 6; r++) {
      const z = Float64Array.from(rows.subarray(r * 7, (r + 1) * 7));
      if (r === 5) z[2] = z[4] as number; // a tie
      const g = Float64Array.from(randomTensor([7], 30 + r).data);
      for (const [alpha, forward, backward] of [
        [1, softmaxRow, softmaxBackwardRow],
        [2, sparsemaxRow, sparsemaxBackwardRow],
      ] as const) {
        const general = new Float64Array(7);
        const shortcut = new Float64Array(7);
        entmaxBisectionRow(z, alpha, general);
        forward(z, shortcut);
        expectClose(Array.from(general), Array.from(shortcut), 9);
        const dGeneral = new Float64Array(7);
        const dShortcut = new Float64Array(7);
        entmaxGeneralBackwardRow(shortcut, g, alpha, dGeneral);
        backward(shortcut, g, dShortcut);
        expectClose(Array.from(dGeneral), Array.from(dShortcut), 9);
      }
      // and the layer's α = 2 output has real zeros for the general path to reproduce
      if (r === 0) expect(Array.from(sparsemaxOf(z)).some((v) => v === 0)).toBe(true);
    }
  });

  it('entmax 1.5 hand-checked: [0,0] → [½,½]; [1,2,3,4] → [0, 0, (a−½)², a²] with a = (1+√7)/4', () => {
    expectClose(run(build({ variant: 'entmax', alpha: 1.5 }, [2]), [0, 0]), [0.5, 0.5]);
    // y_i = (z_i/2 − τ)²₊; with support {3, 4} and a = 2 − τ: a² + (a − ½)² = 1 → a = (1 + √7)/4.
    const a = (1 + Math.sqrt(7)) / 4;
    expectClose(run(build({ variant: 'entmax', alpha: 1.5 }, [4]), [1, 2, 3, 4]), [0, 0, (a - 0.5) ** 2, a ** 2]);
  });

  it('entmax defaults to α = 1.5 and every output row sums to 1', () => {
    const layer = build({ variant: 'entmax' }, [7]);
    expect(layer.spec.alpha).toBe(1.5);
    expectClose(rowSums(run(layer, Array.from(randomTensor([4, 7], 5, -3, 3).data)), 7), [1, 1, 1, 1]);
  });
});

describe('softmax: structured maps', () => {
  it('hierarchical [2,3]: 2 + 6 logits → 6 leaf probabilities, product of conditionals', () => {
    const layer = build({ variant: 'hierarchical', levels: [2, 3] }, [8]);
    expect(layer.outputShape).toEqual([6]);
    // level 1: [0, ln 3] → [¼, ¾]; node 0's children uniform; node 1's children [ln1, ln2, ln5] → [⅛, ²⁄₈, ⁵⁄₈].
    const y = run(layer, [0, Math.log(3), 0, 0, 0, 0, Math.log(2), Math.log(5)]);
    expectClose(y, [1 / 12, 1 / 12, 1 / 12, 0.75 / 8, (0.75 * 2) / 8, (0.75 * 5) / 8]);
  });

  it('hierarchical [3,4] takes 3 + 12 inputs, gives 12 outputs summing to 1, and rejects other sizes', () => {
    const layer = build({ variant: 'hierarchical', levels: [3, 4] }, [2, 15]);
    expect(layer.outputShape).toEqual([2, 12]);
    expectClose(rowSums(run(layer, Array.from(randomTensor([3, 2, 15], 4, -2, 2).data)), 12), [1, 1, 1, 1, 1, 1]);
    expect(() => build({ variant: 'hierarchical', levels: [3, 4] }, [12])).toThrow(/softmax: expected input shape last axis 15/);
    expect(() => build({ variant: 'hierarchical' }, [12])).toThrow(/hierarchical needs "levels"/);
  });

  it('adaptive [2,3]: head (2 shortlist + 1 cluster) then the tail’s 3 logits → 5 classes', () => {
    const layer = build({ variant: 'adaptive', clusters: [2, 3] }, [6]);
    expect(layer.outputShape).toEqual([5]);
    const ln2 = Math.log(2);
    // head [0, 0, ln2] → [¼, ¼, ½]; tail [0, 0, ln2] → [¼, ¼, ½] scaled by ½.
    expectClose(run(layer, [0, 0, ln2, 0, 0, ln2]), [0.25, 0.25, 0.125, 0.125, 0.25]);
  });

  it('adaptive with two tails sums to 1 and validates the input size', () => {
    const layer = build({ variant: 'adaptive', clusters: [3, 2, 4] }, [11]);
    expect(layer.outputShape).toEqual([9]);
    expectClose(rowSums(run(layer, Array.from(randomTensor([4, 11], 6, -2, 2).data)), 9), [1, 1, 1, 1]);
    expect(() => build({ variant: 'adaptive', clusters: [3, 2, 4] }, [9])).toThrow(/last axis 11 \(9 classes \+ 2 tail cluster logits/);
  });

  it('mixture K=2: π·softmax(a) + … with hand-computed weights', () => {
    const layer = build({ variant: 'mixture', components: 2 }, [6]);
    expect(layer.outputShape).toEqual([2]);
    const ln3 = Math.log(3);
    // π = [¼, ¾]; a → [¼, ¾]; b → [¾, ¼]: ¼·[¼, ¾] + ¾·[¾, ¼] = [0.625, 0.375].
    expectClose(run(layer, [0, ln3, 0, ln3, ln3, 0]), [0.625, 0.375]);
    const wide = build({ variant: 'mixture', components: 3 }, [2, 3 + 3 * 5]);
    expect(wide.outputShape).toEqual([2, 5]);
    expectClose(rowSums(run(wide, Array.from(randomTensor([2, 2, 18], 8, -2, 2).data)), 5), [1, 1, 1, 1]);
    expect(() => build({ variant: 'mixture', components: 3 }, [10])).toThrow(/K \+ K·classes with K = 3/);
  });
});

describe('softmax: gumbel and masked', () => {
  const x = Array.from(randomTensor([3, 5], 9, -1, 1).data);

  it('gumbel is plain softmax(x/T) in eval, seeded-reproducible noise in training', () => {
    const gumbel = build({ variant: 'gumbel', temperature: 0.7 }, [5]);
    const plain = run(build({ temperature: 0.7 }, [5]), x);
    expect(run(gumbel, x, evalCtx(1))).toEqual(plain);
    expect(run(gumbel, x, evalCtx(2))).toEqual(plain);
    const sampled = run(gumbel, x, trainCtx(42));
    expect(run(gumbel, x, trainCtx(42))).toEqual(sampled);
    expect(run(gumbel, x, trainCtx(43))).not.toEqual(sampled);
    expect(Math.max(...sampled.map((v, i) => Math.abs(v - plain[i]!)))).toBeGreaterThan(0.05);
    expectClose(rowSums(sampled, 5), [1, 1, 1]);
  });

  it('masked positions get exactly 0 and no gradient; the rest is a softmax over the kept ones', () => {
    const mask = [true, false, true, true, false];
    const layer = build({ variant: 'masked', mask }, [5]);
    const y = run(layer, x);
    const kept = run(build({}, [3]), x.filter((_, i) => mask[i % 5]));
    for (let r = 0; r < 3; r++) {
      expect(y[r * 5 + 1]).toBe(0);
      expect(y[r * 5 + 4]).toBe(0);
      expectClose([y[r * 5]!, y[r * 5 + 2]!, y[r * 5 + 3]!], kept.slice(r * 3, r * 3 + 3));
    }
    const dx = layer.backward(randomTensor([3, 5], 10), evalCtx()).data;
    for (let r = 0; r < 3; r++) expect([dx[r * 5 + 1] === 0, dx[r * 5 + 4] === 0]).toEqual([true, true]);
    expect(dx.some((v) => v !== 0)).toBe(true);
  });

  it('masked defaults to an all-true mask stored in the spec, and checks its length', () => {
    expect(build({ variant: 'masked' }, [4]).spec.mask).toEqual([true, true, true, true]);
    expect(() => build({ variant: 'masked', mask: [true, false] }, [4])).toThrow(/softmax: expected input shape last axis 2/);
    expect(() => build({ variant: 'masked', mask: [false, false] }, [2])).toThrow(/at least one unmasked/);
  });
});

/** Inputs for the sparse maps sit well away from support changes, so ±eps never crosses a kink. */
const gradientCases: { name: string; spec: Omit<SoftmaxSpec, 'type'>; x: Tensor; training?: boolean }[] = [
  { name: 'standard', spec: {}, x: randomTensor([3, 2, 5], 21, -2, 2) },
  { name: 'standard T=0.6', spec: { temperature: 0.6 }, x: randomTensor([3, 5], 22, -2, 2) },
  { name: 'temperature T=2.5', spec: { variant: 'temperature', temperature: 2.5 }, x: randomTensor([3, 5], 23, -2, 2) },
  { name: 'grid 2×3 T=0.8', spec: { variant: 'grid', rows: 2, cols: 3, temperature: 0.8 }, x: randomTensor([3, 6], 24, -2, 2) },
  { name: 'hierarchical [3,4] T=1.5', spec: { variant: 'hierarchical', levels: [3, 4], temperature: 1.5 }, x: randomTensor([2, 15], 25, -2, 2) },
  { name: 'hierarchical [2,2,3]', spec: { variant: 'hierarchical', levels: [2, 2, 3] }, x: randomTensor([2, 2 + 4 + 12], 26, -2, 2) },
  { name: 'gumbel training T=0.5', spec: { variant: 'gumbel', temperature: 0.5 }, x: randomTensor([3, 5], 27, -1, 1), training: true },
  { name: 'gumbel eval', spec: { variant: 'gumbel' }, x: randomTensor([3, 5], 28, -1, 1) },
  { name: 'masked T=0.7', spec: { variant: 'masked', mask: [true, false, true, true, true], temperature: 0.7 }, x: randomTensor([3, 5], 29, -2, 2) },
  { name: 'adaptive [3,2,4] T=1.3', spec: { variant: 'adaptive', clusters: [3, 2, 4], temperature: 1.3 }, x: randomTensor([3, 11], 30, -2, 2) },
  { name: 'mixture K=3 T=0.9', spec: { variant: 'mixture', components: 3, temperature: 0.9 }, x: randomTensor([2, 3 + 3 * 4], 31, -2, 2) },
  {
    name: 'sparsemax',
    spec: { variant: 'sparsemax' },
    // supports {0.9, 0.6, 0.3} (τ ≈ 0.267) and {2, 1.2} (τ = 1.1): every logit is ≥ 0.03 from τ.
    x: sample([2, 5], [0.9, 0.6, 0.3, 0.1, -0.5, 2, 1.2, -1, 0.5, 0.8]),
  },
  { name: 'sparsemax T=0.5', spec: { variant: 'sparsemax', temperature: 0.5 }, x: sample([1, 4], [0.3, 0.1, 0.25, -0.4]) },
  { name: 'entmax α=1.5', spec: { variant: 'entmax', alpha: 1.5 }, x: sample([2, 4], [1, 2, 3, 4, 0.5, -0.3, 0.2, 0.9]) },
  { name: 'entmax α=1.25 T=0.8', spec: { variant: 'entmax', alpha: 1.25, temperature: 0.8 }, x: randomTensor([3, 5], 32, -2, 2) },
  { name: 'entmax α=1.75', spec: { variant: 'entmax', alpha: 1.75 }, x: sample([1, 5], [1.5, 0.2, 1.1, -1, 0.7]) },
  { name: 'entmax α=1', spec: { variant: 'entmax', alpha: 1 }, x: randomTensor([2, 4], 33, -2, 2) },
  { name: 'entmax α=2', spec: { variant: 'entmax', alpha: 2 }, x: sample([1, 4], [0.3, 0.1, 0.25, -0.4]) },
];

describe('softmax: gradients match finite differences', () => {
  it('covers every variant', () => {
    const covered = new Set(gradientCases.map((c) => c.spec.variant ?? 'standard'));
    expect([...covered].sort()).toEqual([...SOFTMAX_VARIANTS].sort());
  });

  for (const c of gradientCases) {
    it(c.name, () => {
      const layer = build(c.spec, c.x.shape.slice(1));
      const report = expectGradientsMatch(layer, c.x, { training: c.training ?? false, probes: 60 });
      expect(report.errors['input']).toBeLessThan(2e-3);
    });
  }

  it('the sparse maps really are sparse on the gradient-check inputs', () => {
    const y = run(build({ variant: 'sparsemax' }, [5]), [0.9, 0.6, 0.3, 0.1, -0.5]);
    expect(y.filter((v) => v === 0)).toHaveLength(2);
    const e = run(build({ variant: 'entmax', alpha: 1.75 }, [5]), [1.5, 0.2, 1.1, -1, 0.7]);
    expect(e.filter((v) => v === 0).length).toBeGreaterThan(0);
  });

  it('a gradient without the 1/T factor (LOOM’s backward) fails the check', () => {
    const layer = build({ temperature: 0.5 }, [5]);
    const loomLike = {
      forward: layer.forward.bind(layer),
      params: layer.params.bind(layer),
      backward: (dy: Tensor, ctx: RunContext): Tensor => {
        const dx = layer.backward(dy, ctx);
        return { data: dx.data.map((v) => v * 0.5), shape: dx.shape };
      },
    };
    expect(gradCheck(loomLike, randomTensor([3, 5], 40, -2, 2)).errors['input']).toBeGreaterThan(0.1);
  });

  it('the softmax Jacobian applied to sparsemax (LOOM’s backward) fails the check', () => {
    const layer = build({ variant: 'sparsemax' }, [5]);
    let y: Float32Array = new Float32Array(0);
    const softmaxJacobian = {
      forward: (x: Tensor, ctx: RunContext): Tensor => {
        const out = layer.forward(x, ctx);
        y = out.data;
        return out;
      },
      params: () => [],
      backward: (dy: Tensor): Tensor => {
        const dx = new Float32Array(y.length);
        for (let r = 0; r < y.length / 5; r++) {
          let dot = 0;
          for (let i = r * 5; i < r * 5 + 5; i++) dot += y[i]! * dy.data[i]!;
          for (let i = r * 5; i < r * 5 + 5; i++) dx[i] = y[i]! * (dy.data[i]! - dot);
        }
        return { data: dx, shape: dy.shape };
      },
    };
    const x = sample([2, 5], [0.9, 0.6, 0.3, 0.1, -0.5, 2, 1.2, -1, 0.5, 0.8]);
    expect(gradCheck(softmaxJacobian, x).errors['input']).toBeGreaterThan(0.1);
  });
});

describe('softmax: spec', () => {
  it('resolves every field needed to rebuild, and the rebuilt layer computes the same', () => {
    for (const c of gradientCases) {
      const layer = build(c.spec, c.x.shape.slice(1));
      const spec = JSON.parse(JSON.stringify(layer.spec)) as SoftmaxSpec;
      expect(spec.variant).toBe(c.spec.variant ?? 'standard');
      expect(spec.temperature).toBe(c.spec.temperature ?? 1);
      const rebuilt = softmaxKind.create(spec, layer.inputShape, new Rng(99));
      expect(rebuilt.spec).toEqual(layer.spec);
      expect(run(rebuilt, Array.from(c.x.data))).toEqual(run(layer, Array.from(c.x.data)));
    }
  });

  it('has no parameters', () => {
    expect(build({ variant: 'mixture', components: 2 }, [6]).params()).toEqual([]);
  });

  it('rejects unknown variants and bad fields with the allowed values', () => {
    expect(() => build({ variant: 'nope' as never }, [4])).toThrow(/unknown variant "nope" \(known: standard, grid, hierarchical/);
    expect(() => build({ temperature: 0 }, [4])).toThrow(/temperature must be a positive number/);
    expect(() => build({ variant: 'entmax', alpha: 0.5 }, [4])).toThrow(/alpha ≥ 1/);
    expect(() => build({ variant: 'mixture' }, [6])).toThrow(/mixture needs "components"/);
  });

  it('names the layer and shapes on a shape mismatch', () => {
    const layer = build({}, [4]);
    expect(() => layer.forward(randomTensor([2, 5]), evalCtx())).toThrow(/softmax: expected input shape \[4\], got \[5\]/);
  });
});
