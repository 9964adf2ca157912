import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { loadDataset, readRaw } from '../../src/data/index.js';
import type { LoadedDataset } from '../../src/data/index.js';

const counts = (y: Int32Array, numClasses: number): number[] => {
  const out = new Array<number>(numClasses).fill(0);
  for (const c of y) out[c] = (out[c] as number) + 1;
  return out;
};

/** Accuracy on test of a nearest-class-mean classifier fitted on train, over features picked by `view`. */
function nearestCentroidAccuracy(d: LoadedDataset, view: (row: Float32Array) => number[]): number {
  const size = d.featureSize;
  const rows = (split: LoadedDataset['train']): number[][] =>
    Array.from({ length: split.count }, (_, s) => view(split.x.subarray(s * size, (s + 1) * size)));
  const train = rows(d.train);
  const dims = (train[0] as number[]).length;
  const centroids = Array.from({ length: d.numClasses }, () => new Array<number>(dims).fill(0));
  const n = counts(d.train.y, d.numClasses);
  train.forEach((r, s) => r.forEach((v, k) => ((centroids[d.train.y[s] as number] as number[])[k] += v / (n[d.train.y[s] as number] as number))));
  let correct = 0;
  rows(d.test).forEach((r, s) => {
    let best = 0;
    let bestDist = Infinity;
    centroids.forEach((c, k) => {
      const dist = r.reduce((a, v, i) => a + (v - (c[i] as number)) ** 2, 0);
      if (dist < bestDist) [best, bestDist] = [k, dist];
    });
    if (best === d.test.y[s]) correct++;
  });
  return correct / d.test.count;
}

describe('mnist', () => {
  it('reads the package per-digit files: 10,000 digits of 28×28, 10 classes, values in [0, 1]', () => {
    const raw = readRaw('mnist');
    expect(raw.count).toBe(10_000);
    expect(raw.x.length).toBe(10_000 * 784);
    expect(counts(raw.y, 10)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of raw.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBeGreaterThan(0.99);
    expect(max).toBeLessThanOrEqual(1);

    const d = loadDataset('mnist', { splitSeed: 1 });
    expect(d.inputShape).toEqual([28, 28]);
    expect(d.numClasses).toBe(10);
    expect(d.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(d.normalization).toEqual({ kind: 'none' });
    expect(d.train.count + d.val.count + d.test.count).toBe(10_000);
    expect(d.train.x.length).toBe(d.train.count * 784);
    expect(d.test.count).toBeGreaterThan(1400);
    // Stable across loads (the checksum a remote worker recomputes).
    expect(loadDataset('mnist', { splitSeed: 9, limit: 500 }).checksum).toBe(d.checksum);
  });

  it('limits stratified: 500 samples keep the class proportions', () => {
    const d = loadDataset('mnist', { splitSeed: 2, limit: 500 });
    expect(d.train.count + d.val.count + d.test.count).toBe(500);
    const all = counts(Int32Array.from([...d.train.y, ...d.val.y, ...d.test.y]), 10);
    all.forEach((n, digit) => expect(Math.abs(n - [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978][digit]! / 20)).toBeLessThanOrEqual(1));
  });
});

describe('iris', () => {
  it('has 150 samples of 4 features in 3 classes, 50 each', () => {
    const raw = readRaw('iris');
    expect(raw.count).toBe(150);
    expect(raw.inputShape).toEqual([4]);
    expect(raw.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(counts(raw.y, 3)).toEqual([50, 50, 50]);
    expect(Array.from(raw.x.subarray(0, 4))).toEqual([5.1, 3.5, 1.4, 0.2].map(Math.fround));
    const d = loadDataset('iris', { splitSeed: 0 });
    // 0.15 × 50 = 7.5 rounds to 8 for val and for test; train takes the rest.
    expect(counts(d.train.y, 3)).toEqual([34, 34, 34]);
    expect(counts(d.val.y, 3)).toEqual([8, 8, 8]);
    expect(counts(d.test.y, 3)).toEqual([8, 8, 8]);
  });
});

describe('synthetic', () => {
  it('builds the same data for every load, whatever the split seed', () => {
    for (const name of ['blobs', 'sequence', 'bars', 'spirals']) {
      const a = readRaw(`synthetic:${name}`);
      const b = readRaw(`synthetic:${name}`);
      expect(b.x).toEqual(a.x);
      expect(b.y).toEqual(a.y);
    }
    expect(readRaw('synthetic:sequence').inputShape).toEqual([8, 3]);
    expect(readRaw('synthetic:bars').inputShape).toEqual([8, 8]);
  });

  it('blobs are learnable: a nearest-centroid classifier gets them right on test', () => {
    const d = loadDataset('synthetic:blobs', { splitSeed: 3 });
    expect(nearestCentroidAccuracy(d, (r) => Array.from(r))).toBeGreaterThan(0.9);
  });

  it('sequence needs order: order-blind features are at chance, the marker order solves it', () => {
    const d = loadDataset('synthetic:sequence', { splitSeed: 3 });
    const steps = 8;
    // Sum over time of each channel: what a model ignoring order sees.
    const bagOfSteps = (r: Float32Array): number[] =>
      [0, 1, 2].map((ch) => Array.from({ length: steps }, (_, t) => r[t * 3 + ch] as number).reduce((a, b) => a + b, 0));
    expect(nearestCentroidAccuracy(d, bagOfSteps)).toBeLessThan(0.7);
    const argmax = (r: Float32Array, ch: number): number => {
      let best = 0;
      for (let t = 1; t < steps; t++) if ((r[t * 3 + ch] as number) > (r[best * 3 + ch] as number)) best = t;
      return best;
    };
    expect(nearestCentroidAccuracy(d, (r) => [Math.sign(argmax(r, 1) - argmax(r, 0))])).toBe(1);
  });

  it('bars: the bar sits in one row, one column or on a diagonal', () => {
    const raw = readRaw('synthetic:bars');
    const bright = (s: number): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      for (let i = 0; i < 64; i++) if ((raw.x[s * 64 + i] as number) >= 0.75) out.push([Math.floor(i / 8), i % 8]);
      return out;
    };
    for (let s = 0; s < 30; s++) {
      const pts = bright(s);
      expect(pts.length).toBeGreaterThanOrEqual(6);
      const label = raw.y[s];
      if (label === 0) expect(new Set(pts.map(([r]) => r)).size).toBe(1);
      else if (label === 1) expect(new Set(pts.map(([, c]) => c)).size).toBe(1);
      else expect(new Set(pts.map(([r, c]) => r - c)).size === 1 || new Set(pts.map(([r, c]) => r + c)).size === 1).toBe(true);
    }
  });

  it('an unknown name or reference is a clear data error', () => {
    expect(() => readRaw('synthetic:nope')).toThrow(/unknown synthetic data set "nope"; known: blobs/);
    expect(() => readRaw('cifar')).toThrow(LoomError);
    expect(() => readRaw('cifar')).toThrow(/unknown data set "cifar"/);
  });
});
