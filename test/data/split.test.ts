import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { checkFractions, checksumRaw, loadDataset, readRaw, stratifiedSplit } from '../../src/data/index.js';
import type { DataSplit, RawData } from '../../src/data/index.js';

/** A raw data set whose feature 0 is the sample's own index, so splits can be traced back to sources. */
function indexedRaw(perClass: readonly number[]): RawData {
  const count = perClass.reduce((a, b) => a + b, 0);
  const x = new Float32Array(count * 2);
  const y = new Int32Array(count);
  let s = 0;
  perClass.forEach((n, c) => {
    for (let k = 0; k < n; k++, s++) {
      x[s * 2] = s;
      x[s * 2 + 1] = c * 10 + k;
      y[s] = c;
    }
  });
  return { name: 'indexed', x, y, count, inputShape: [2], classNames: perClass.map((_, c) => `c${c}`), normalize: 'none' };
}

const classCounts = (y: Int32Array, numClasses: number): number[] => {
  const counts = new Array<number>(numClasses).fill(0);
  for (const c of y) counts[c] = (counts[c] as number) + 1;
  return counts;
};

function expectDataError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LoomError);
    expect((err as LoomError).code).toBe('LOOM_ERR_DATA');
    expect((err as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a data error');
}

describe('stratifiedSplit', () => {
  const raw = indexedRaw([100, 60, 40]);

  it('splits every class by the fractions; splits are disjoint and cover every sample', () => {
    const { train, val, test } = stratifiedSplit(raw, { splitSeed: 3 });
    const all = [...train, ...val, ...test];
    expect(all.length).toBe(200);
    expect(new Set(all).size).toBe(200);
    const count = (ids: readonly number[], c: number): number => ids.filter((i) => raw.y[i] === c).length;
    // 0.7 / 0.15 / 0.15 of 100, 60 and 40, per class.
    expect([0, 1, 2].map((c) => count(train, c))).toEqual([70, 42, 28]);
    expect([0, 1, 2].map((c) => count(val, c))).toEqual([15, 9, 6]);
    expect([0, 1, 2].map((c) => count(test, c))).toEqual([15, 9, 6]);
  });

  it('is reproducible for a seed and different for another', () => {
    const a = stratifiedSplit(raw, { splitSeed: 11 });
    const b = stratifiedSplit(raw, { splitSeed: 11 });
    const c = stratifiedSplit(raw, { splitSeed: 12 });
    expect(b).toEqual(a);
    expect(c.test).not.toEqual(a.test);
    expect(new Set(c.test)).not.toEqual(new Set(a.test));
  });

  it('honours custom fractions and a stratified limit', () => {
    const half = stratifiedSplit(raw, { splitSeed: 1, fractions: [0.5, 0.25, 0.25] });
    expect([half.train.length, half.val.length, half.test.length]).toEqual([100, 50, 50]);
    const limited = stratifiedSplit(raw, { splitSeed: 1, limit: 50 });
    const taken = [...limited.train, ...limited.val, ...limited.test];
    expect(taken.length).toBe(50);
    expect(classCounts(Int32Array.from(taken, (i) => raw.y[i] as number), 3)).toEqual([25, 15, 10]);
  });

  it('puts at least one sample of each class in every split, down to 3 per class', () => {
    const tiny = indexedRaw([3, 3, 4]);
    const { train, val, test } = stratifiedSplit(tiny, { splitSeed: 5 });
    for (const ids of [train, val, test]) {
      expect(classCounts(Int32Array.from(ids, (i) => tiny.y[i] as number), 3).every((n) => n >= 1)).toBe(true);
    }
  });

  it('refuses data too small to split, a single class, and bad fractions', () => {
    expectDataError(() => stratifiedSplit(indexedRaw([10, 2]), { splitSeed: 0 }), /class "c1" has 2 sample\(s\).*at least 3/);
    expectDataError(() => stratifiedSplit(indexedRaw([100, 60, 40]), { splitSeed: 0, limit: 12 }), /after limiting to 12/);
    expectDataError(() => stratifiedSplit(indexedRaw([10]), { splitSeed: 0 }), /1 class/);
    expect(() => stratifiedSplit(raw, { splitSeed: 0, fractions: [0.8, 0.2, 0] })).toThrow(/data\.fractions/);
  });

  it('takes fractions only as three numbers in (0, 1) that sum to 1 (±1e-6)', () => {
    expect(checkFractions([0.7, 0.15, 0.15])).toEqual([0.7, 0.15, 0.15]);
    const nearly = checkFractions([0.6, 0.2, 0.2000005]);
    expect(nearly[0] + nearly[1] + nearly[2]).toBeCloseTo(1, 12);
    for (const bad of [[1e308, 1e308, 1e308], [2, 1, 1], [0.5, 0.25, 0.2], [0.5, 0.5, 0], [0.5, 0.5, -0], [0.5, 0.25, NaN], [0.5, 0.5], [0.4, 0.3, 0.2, 0.1], '0.7', null]) {
      expect(() => checkFractions(bad), JSON.stringify(bad)).toThrow(/invalid config field "data\.fractions"/);
    }
    expect(() => checkFractions([0.5, 0.25, 0.2])).toThrow(/must sum to 1.*sum 0\.95/);
    expect(() => stratifiedSplit(raw, { splitSeed: 0, fractions: [2, 1, 1] })).toThrow(/data\.fractions/);
  });
});

describe('checksum', () => {
  it('is stable and changes when a feature, a label or a class name changes', () => {
    const raw = indexedRaw([5, 5]);
    const sum = checksumRaw(raw);
    expect(sum).toMatch(/^[0-9a-f]{64}$/);
    expect(checksumRaw(indexedRaw([5, 5]))).toBe(sum);
    const x = raw.x.slice();
    x[7] = (x[7] as number) + 0.001;
    expect(checksumRaw({ ...raw, x })).not.toBe(sum);
    const y = raw.y.slice();
    y[0] = 1;
    expect(checksumRaw({ ...raw, y })).not.toBe(sum);
    expect(checksumRaw({ ...raw, classNames: ['c0', 'other'] })).not.toBe(sum);
  });

  it('does not depend on the split seed, and a mismatch is refused', () => {
    const a = loadDataset('synthetic:blobs', { splitSeed: 1 });
    const b = loadDataset('synthetic:blobs', { splitSeed: 2, limit: 60 });
    expect(b.checksum).toBe(a.checksum);
    expect(loadDataset('iris').checksum).not.toBe(a.checksum);
    expect(loadDataset('synthetic:blobs', { expectedChecksum: a.checksum }).checksum).toBe(a.checksum);
    expectDataError(() => loadDataset('synthetic:blobs', { expectedChecksum: '0'.repeat(64) }), /does not match/);
  });
});

describe('normalization', () => {
  const meanStd = (split: DataSplit, size: number, f: number): [number, number] => {
    let m = 0;
    for (let s = 0; s < split.count; s++) m += split.x[s * size + f] as number;
    m /= split.count;
    let v = 0;
    for (let s = 0; s < split.count; s++) v += ((split.x[s * size + f] as number) - m) ** 2;
    return [m, Math.sqrt(v / split.count)];
  };

  it('z-scores with statistics fitted on the train split only, and applies them to val and test', () => {
    const data = loadDataset('iris', { splitSeed: 4 });
    expect(data.normalization.kind).toBe('zscore');
    if (data.normalization.kind !== 'zscore') return;
    for (let f = 0; f < 4; f++) {
      const [m, s] = meanStd(data.train, 4, f);
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(s).toBeCloseTo(1, 4);
    }
    // Recompute train's statistics by hand from the raw rows the same seed puts in train.
    const raw = readRaw('iris');
    const ids = stratifiedSplit(raw, { splitSeed: 4 });
    const { mean, std } = data.normalization;
    for (let f = 0; f < 4; f++) {
      const values = ids.train.map((i) => raw.x[i * 4 + f] as number);
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      const s = Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length);
      expect(mean[f]).toBeCloseTo(m, 10);
      expect(std[f]).toBeCloseTo(s, 10);
      // Val and test rows are (raw - train mean) / train std, in split order.
      ids.val.forEach((src, k) => expect(data.val.x[k * 4 + f]).toBeCloseTo(((raw.x[src * 4 + f] as number) - m) / s, 5));
      ids.test.forEach((src, k) => expect(data.test.x[k * 4 + f]).toBeCloseTo(((raw.x[src * 4 + f] as number) - m) / s, 5));
    }
    // Val's own mean differs from train's, so train-only fitting is visible: val is not centred.
    const valMeans = [0, 1, 2, 3].map((f) => Math.abs(meanStd(data.val, 4, f)[0]));
    expect(Math.max(...valMeans)).toBeGreaterThan(1e-3);
  });

  it('leaves data-independent scales alone', () => {
    expect(loadDataset('synthetic:bars').normalization).toEqual({ kind: 'none' });
  });
});
