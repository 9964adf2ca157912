import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import type { Layer } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor, type Tensor } from '../../src/engine/tensor.js';
import {
  binaryCrossEntropy,
  endsInSoftmax,
  mse,
  probabilityCrossEntropy,
  resolveLoss,
  softmaxCrossEntropy,
  type Loss,
  type Targets,
} from '../../src/engine/train/losses.js';

/** Central differences of the mean loss against every output value, compared with the analytic dL/dy. */
function expectGradMatchesFiniteDifferences(loss: Loss, output: Tensor, target: Targets, eps = 1e-3): void {
  const analytic = loss.compute(output, target).grad.data;
  const numeric = new Float64Array(output.data.length);
  for (let i = 0; i < output.data.length; i++) {
    const orig = output.data[i] as number;
    output.data[i] = orig + eps;
    const plus = loss.compute(output, target).loss;
    output.data[i] = orig - eps;
    const minus = loss.compute(output, target).loss;
    output.data[i] = orig;
    // the perturbation really applied in float32
    const step = Math.fround(orig + eps) - Math.fround(orig - eps);
    numeric[i] = (plus - minus) / step;
  }
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < numeric.length; i++) {
    diff += ((analytic[i] as number) - (numeric[i] as number)) ** 2;
    norm += (numeric[i] as number) ** 2;
  }
  expect(Math.sqrt(norm)).toBeGreaterThan(1e-4);
  expect(Math.sqrt(diff / norm)).toBeLessThan(2e-3);
}

const randomTensor = (shape: number[], seed: number, lo = -2, hi = 2): Tensor => {
  const rng = new Rng(seed);
  const t = tensor(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
};

describe('softmax cross-entropy (from logits)', () => {
  it('matches hand-computed values and gradient', () => {
    const out = tensor([2, 3], [1, 2, 3, 0, 0, 0]);
    const { loss, grad } = softmaxCrossEntropy.compute(out, [2, 0]);
    // row 0: log(e + e² + e³) − 3 = 0.4076059645; row 1: log 3
    expect(loss).toBeCloseTo((0.4076059645 + Math.log(3)) / 2, 6);
    const s = [0.0900305732, 0.2447284711, 0.6652409558];
    const expected = [s[0]! / 2, s[1]! / 2, (s[2]! - 1) / 2, (1 / 3 - 1) / 2, 1 / 6, 1 / 6];
    expected.forEach((v, i) => expect(grad.data[i]).toBeCloseTo(v, 6));
  });

  it('stays finite for huge logits', () => {
    const { loss, grad } = softmaxCrossEntropy.compute(tensor([1, 2], [1000, 0]), [1]);
    expect(loss).toBeCloseTo(1000, 3);
    expect(grad.data[0]).toBeCloseTo(1, 6);
    expect(grad.data[1]).toBeCloseTo(-1, 6);
  });

  it('gradient matches finite differences', () => {
    expectGradMatchesFiniteDifferences(softmaxCrossEntropy, randomTensor([4, 5], 1), Int32Array.from([0, 4, 2, 2]));
  });

  it('takes several labels per sample (one per position)', () => {
    const out = randomTensor([2, 3, 4], 2);
    const labels = [0, 1, 2, 3, 3, 1];
    const perRow = labels.map((l, r) => softmaxCrossEntropy.compute(tensor([1, 4], out.data.slice(r * 4, r * 4 + 4)), [l]).loss);
    expect(softmaxCrossEntropy.compute(out, labels).loss).toBeCloseTo(perRow.reduce((a, b) => a + b) / 6, 6);
    expectGradMatchesFiniteDifferences(softmaxCrossEntropy, out, labels);
  });

  it('counts argmax matches', () => {
    expect(softmaxCrossEntropy.correct(tensor([3, 2], [1, 0, 0, 1, 5, 2]), [0, 0, 0])).toEqual({ correct: 2, total: 3 });
  });

  it('rejects bad labels and tensor targets with a data error', () => {
    const out = tensor([1, 3], [0, 0, 0]);
    for (const bad of [[3], [-1], [1.5]]) {
      expect(() => softmaxCrossEntropy.compute(out, bad)).toThrow(/outside 0\.\.2/);
    }
    expect(() => softmaxCrossEntropy.compute(out, tensor([1, 3]))).toThrow(LoomError);
    expect(() => softmaxCrossEntropy.compute(out, [0, 1])).toThrow(/2 labels/);
  });
});

describe('probability cross-entropy (network ends in softmax)', () => {
  it('is −ln p[label] with gradient −1/p there', () => {
    const { loss, grad } = probabilityCrossEntropy.compute(tensor([1, 3], [0.2, 0.5, 0.3]), [1]);
    expect(loss).toBeCloseTo(-Math.log(0.5), 6);
    expect(Array.from(grad.data)).toEqual([0, -2, 0]);
  });

  it('chained through the softmax Jacobian gives the logits gradient softmax − onehot', () => {
    const logits = randomTensor([3, 4], 3);
    const labels = [3, 0, 1];
    const probs = tensor([3, 4]);
    for (let r = 0; r < 3; r++) {
      const row = Array.from(logits.data.slice(r * 4, r * 4 + 4), Math.exp);
      const sum = row.reduce((a, b) => a + b);
      row.forEach((e, j) => (probs.data[r * 4 + j] = e / sum));
    }
    const dp = probabilityCrossEntropy.compute(probs, labels).grad.data;
    const viaJacobian = new Float32Array(12);
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 4; i++) {
        let s = 0;
        for (let j = 0; j < 4; j++) s += dp[r * 4 + j]! * probs.data[r * 4 + j]! * ((i === j ? 1 : 0) - probs.data[r * 4 + i]!);
        viaJacobian[r * 4 + i] = s;
      }
    }
    const direct = softmaxCrossEntropy.compute(logits, labels).grad.data;
    direct.forEach((v, i) => expect(viaJacobian[i]).toBeCloseTo(v, 5));
    expect(probabilityCrossEntropy.compute(probs, labels).loss).toBeCloseTo(softmaxCrossEntropy.compute(logits, labels).loss, 5);
  });

  it('gradient matches finite differences', () => {
    expectGradMatchesFiniteDifferences(probabilityCrossEntropy, randomTensor([3, 4], 4, 0.1, 0.9), [1, 2, 3]);
  });

  it('a zero probability gives a large finite loss, not Infinity', () => {
    const { loss } = probabilityCrossEntropy.compute(tensor([1, 2], [1, 0]), [1]);
    expect(loss).toBeCloseTo(-Math.log(1e-12), 3);
  });
});

describe('mse', () => {
  it('is the mean of squared errors with gradient 2(o − t)/n', () => {
    const { loss, grad } = mse.compute(tensor([2, 2], [1, 2, 3, 4]), tensor([2, 2], [1, 0, 3, 5]));
    expect(loss).toBeCloseTo((0 + 4 + 0 + 1) / 4, 6);
    expect(Array.from(grad.data)).toEqual([0, 1, 0, -0.5]);
  });

  it('gradient matches finite differences', () => {
    expectGradMatchesFiniteDifferences(mse, randomTensor([3, 4], 5), randomTensor([3, 4], 6));
  });

  it('rejects class indices and mismatched shapes', () => {
    expect(() => mse.compute(tensor([1, 2]), [0])).toThrow(/target tensor/);
    expect(() => mse.compute(tensor([1, 2]), tensor([1, 3]))).toThrow(/does not match/);
  });
});

describe('binary cross-entropy (from logits)', () => {
  it('matches hand values and is stable at extreme logits', () => {
    expect(binaryCrossEntropy.compute(tensor([1, 1], [0]), tensor([1, 1], [1])).loss).toBeCloseTo(Math.log(2), 6);
    const extreme = binaryCrossEntropy.compute(tensor([2, 1], [-100, 100]), tensor([2, 1], [1, 0]));
    expect(extreme.loss).toBeCloseTo(100, 4);
    expect(Array.from(extreme.grad.data, (g) => Math.round(g * 1e6) / 1e6)).toEqual([-0.5, 0.5]);
    const confident = binaryCrossEntropy.compute(tensor([1, 1], [30]), tensor([1, 1], [1]));
    expect(confident.loss).toBeGreaterThan(0);
    expect(confident.loss).toBeLessThan(1e-12);
  });

  it('gradient matches finite differences (soft targets too)', () => {
    expectGradMatchesFiniteDifferences(binaryCrossEntropy, randomTensor([4, 3], 7, -4, 4), randomTensor([4, 3], 8, 0, 1));
  });

  it('counts a logit > 0 as predicting 1', () => {
    expect(binaryCrossEntropy.correct(tensor([3, 1], [2, -1, 0.5]), tensor([3, 1], [1, 0, 0]))).toEqual({ correct: 2, total: 3 });
  });
});

describe('resolveLoss', () => {
  const stack = (types: string[], disabled: number[] = []) => ({
    layers: types.map((type) => ({ spec: { type } }) as unknown as Layer),
    isDisabled: (i: number) => disabled.includes(i),
  });

  it('cross_entropy picks the logits form unless the network ends in a softmax', () => {
    expect(resolveLoss(stack(['dense', 'dense']), [0])).toBe(softmaxCrossEntropy);
    expect(resolveLoss(stack(['dense', 'softmax']), [0], 'cross_entropy')).toBe(probabilityCrossEntropy);
    // a disabled trailing softmax does not count
    expect(endsInSoftmax(stack(['dense', 'softmax'], [1]))).toBe(false);
    expect(endsInSoftmax(stack(['softmax', 'dense'], [1]))).toBe(true);
  });

  it('auto picks MSE for target tensors; explicit names win', () => {
    expect(resolveLoss(stack(['dense']), tensor([1, 1]))).toBe(mse);
    expect(resolveLoss(stack(['dense']), tensor([1, 1]), 'binary_cross_entropy')).toBe(binaryCrossEntropy);
    expect(() => resolveLoss(stack(['dense']), [0], 'hinge' as never)).toThrow(/unknown loss "hinge"/);
  });
});
