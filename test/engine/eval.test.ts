import { describe, expect, it } from 'vitest';
import {
  deviationBucket,
  deviationMetrics,
  deviationOf,
  evaluate,
  predict,
  worstSamples,
} from '../../src/engine/eval.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor } from '../../src/engine/tensor.js';

/** [2] → dense(units) with the given kernel ([in][out]) and bias. */
function fixedDense(units: number, kernel: number[], bias: number[]): Network {
  const net = new Network(sequentialNetworkSpec([2], [{ type: 'dense', units }] as never), new Rng(1));
  const [k, b] = net.layers[0]!.params();
  k!.value.set(kernel);
  b!.value.set(bias);
  return net;
}

const softmax = (xs: number[]): number[] => {
  const e = xs.map(Math.exp);
  const s = e.reduce((a, b) => a + b);
  return e.map((v) => v / s);
};

describe('predict', () => {
  it('batched inference equals one forward pass', () => {
    const net = new Network(sequentialNetworkSpec([3], [{ type: 'dense', units: 5, activation: 'relu' }, { type: 'dense', units: 2 }] as never), new Rng(2));
    const rng = new Rng(3);
    const x = tensor([7, 3], Array.from({ length: 21 }, () => rng.normal()));
    const whole = net.forward(x);
    const batched = predict(net, x, 3);
    expect(batched.shape).toEqual([7, 2]);
    // (a blocked kernel may round differently per batch size: compare to float32 precision)
    whole.data.forEach((v, i) => expect(batched.data[i]).toBeCloseTo(v, 5));
  });
});

describe('evaluate (classes)', () => {
  // logits = x·W + b with W = [[1,0,0],[0,1,0]], b = [0, 0, 0.5]
  const net = fixedDense(3, [1, 0, 0, 0, 1, 0], [0, 0, 0.5]);
  const x = tensor([4, 2], [2, 0, 0, 3, 0, 0, 1, 1]);
  const logits = [[2, 0, 0.5], [0, 3, 0.5], [0, 0, 0.5], [1, 1, 0.5]];
  const labels = [0, 1, 0, 1];
  const result = evaluate(net, { x, y: labels }, { batchSize: 3 });

  it('gives softmax probabilities, argmax predictions, mask, confusion and accuracy', () => {
    expect(result.rows).toBe(4);
    expect(result.classes).toBe(3);
    logits.forEach((row, r) => softmax(row).forEach((p, j) => expect(result.probabilities[r * 3 + j]).toBeCloseTo(p, 6)));
    expect(Array.from(result.predictions)).toEqual([0, 1, 2, 0]);
    expect(Array.from(result.labels)).toEqual(labels);
    expect(Array.from(result.correctnessMask)).toEqual([1, 1, 0, 0]);
    expect(result.accuracy).toBe(0.5);
    expect(result.confusion).toEqual([
      [1, 0, 1],
      [1, 1, 0],
      [0, 0, 0],
    ]);
  });

  it('reports the mean cross-entropy from logits', () => {
    const expected = logits.reduce((s, row, r) => s - Math.log(softmax(row)[labels[r]!]!), 0) / 4;
    expect(result.lossName).toBe('softmax_cross_entropy');
    expect(result.loss).toBeCloseTo(expected, 6);
  });

  it('scores deviation on the probability of the true class', () => {
    const pTrue = logits.map((row, r) => softmax(row)[labels[r]!]!);
    expect(result.deviation.totalSamples).toBe(4);
    expect(result.deviation.score).toBeCloseTo((100 * pTrue.reduce((a, b) => a + b)) / 4, 4);
    result.deviation.samples.forEach((s, r) => expect(s.deviation).toBeCloseTo((1 - pTrue[r]!) * 100, 4));
  });
});

describe('evaluate (one output per sample)', () => {
  it('binary cross-entropy reads the logit through a sigmoid, split at 0.5', () => {
    const net = fixedDense(1, [1, -1], [0]);
    const x = tensor([3, 2], [2, 0, 0, 1, 0.5, 0.5]);
    const y = tensor([3, 1], [1, 1, 0]);
    const r = evaluate(net, { x, y }, { loss: 'binary_cross_entropy' });
    expect(r.classes).toBe(2);
    const s = (v: number): number => 1 / (1 + Math.exp(-v));
    [2, -1, 0].forEach((z, i) => {
      expect(r.probabilities[i * 2 + 1]).toBeCloseTo(s(z), 6);
      expect(r.probabilities[i * 2]).toBeCloseTo(1 - s(z), 6);
    });
    expect(Array.from(r.predictions)).toEqual([1, 0, 0]);
    expect(Array.from(r.labels)).toEqual([1, 1, 0]);
    expect(Array.from(r.correctnessMask)).toEqual([1, 0, 1]);
  });

  it('a regression target is scored on its values', () => {
    const net = fixedDense(1, [1, 0], [0]);
    const x = tensor([2, 2], [10.5, 0, 3, 0]);
    const y = tensor([2, 1], [10, 1]);
    const r = evaluate(net, { x, y });
    expect(r.lossName).toBe('mse');
    expect(r.loss).toBeCloseTo((0.25 + 4) / 2, 6);
    expect(r.deviation.samples.map((s) => s.deviation)).toEqual([5, 200]);
    expect(r.deviation.failures).toBe(1);
  });
});

describe('deviation metrics (LOOM §6.7, fixed)', () => {
  it('computes percent deviation, absolute near zero', () => {
    expect(deviationOf(10, 12)).toBeCloseTo(20, 10);
    expect(deviationOf(-4, -3)).toBeCloseTo(25, 10);
    expect(deviationOf(0, 0.3)).toBeCloseTo(30, 10);
    expect(deviationOf(1, NaN)).toBe(Infinity);
    expect(deviationOf(Infinity, 1)).toBe(Infinity);
  });

  it('buckets with inclusive upper bounds', () => {
    expect([0, 10, 10.01, 20, 50, 50.5, 100, 100.01, Infinity].map(deviationBucket)).toEqual([
      '0-10%', '0-10%', '10-20%', '10-20%', '40-50%', '50-100%', '50-100%', '100%+', '100%+',
    ]);
  });

  it('aggregates score, failures and average by hand', () => {
    const expected = [10, 10, 0, 5, 1, 2];
    const actual = [10.5, 12, 0.3, NaN, 3, 1];
    // deviations 5, 20, 30, ∞, 200, 50
    const m = deviationMetrics(expected, actual);
    expect(m.totalSamples).toBe(6);
    expect(m.buckets['0-10%']).toEqual({ count: 1, samples: [0] });
    expect(m.buckets['10-20%']).toEqual({ count: 1, samples: [1] });
    expect(m.buckets['20-30%']).toEqual({ count: 1, samples: [2] });
    expect(m.buckets['40-50%']).toEqual({ count: 1, samples: [5] });
    expect(m.buckets['50-100%'].count).toBe(0);
    expect(m.buckets['100%+']).toEqual({ count: 2, samples: [3, 4] });
    // NaN is a failure, not LOOM's "100% = 50-100% bucket"
    expect(m.failures).toBe(2);
    expect(m.nonFinite).toBe(1);
    expect(m.score).toBeCloseTo((95 + 80 + 70 + 0 + 0 + 50) / 6, 10);
    expect(m.averageDeviation).toBeCloseTo((5 + 20 + 30 + 200 + 50) / 5, 10);
    expect(worstSamples(m, 3).map((s) => s.index)).toEqual([3, 4, 5]);
    expect(worstSamples(m, 0)).toEqual([]);
  });

  it('is empty-safe and checks lengths', () => {
    const m = deviationMetrics([], []);
    expect(m.score).toBe(0);
    expect(m.averageDeviation).toBe(0);
    expect(() => deviationMetrics([1], [])).toThrow(/1 expected values, 0 predictions/);
  });
});
