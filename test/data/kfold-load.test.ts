import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataOptions, KFOLD_MAX_ROWS, loadDataset, type LoadedDataset } from '../../src/data/index.js';
import { parseSearchConfig } from '../../src/search/config.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-kfold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A split's rows with the z-score undone: the raw values, comparable across different normalizations. */
function rawRows(data: LoadedDataset, split: LoadedDataset['test']): number[][] {
  const f = data.featureSize;
  return Array.from({ length: split.count }, (_, r) =>
    Array.from(split.x.subarray(r * f, (r + 1) * f), (v, j) => (data.normalization.kind === 'zscore' ? v * (data.normalization.std[j] as number) + (data.normalization.mean[j] as number) : v)),
  );
}

const key = (row: readonly number[]): string => row.map((v) => v.toFixed(3)).join(',');

describe('loading a data set with data.kfold', () => {
  const options = { splitSeed: 9, fractions: [0.6, 0.2, 0.2] as const };
  const plain = loadDataset('iris', options);
  const kfold = loadDataset('iris', { ...options, kfold: 4 });

  it('keeps the test split of the same split without k-fold, row for row', () => {
    expect(Array.from(kfold.test.y)).toEqual(Array.from(plain.test.y));
    const a = rawRows(plain, plain.test);
    const b = rawRows(kfold, kfold.test);
    a.forEach((row, r) => row.forEach((v, j) => expect(b[r]?.[j]).toBeCloseTo(v, 4)));
  });

  it('makes every non-test row both train and val, and fits the normalization on them', () => {
    expect(kfold.kfold).toBe(4);
    expect(kfold.val).toBe(kfold.train);
    expect(kfold.train.count).toBe(plain.train.count + plain.val.count);
    const expected = [...rawRows(plain, plain.train), ...rawRows(plain, plain.val)].map(key).sort();
    expect(rawRows(kfold, kfold.train).map(key).sort()).toEqual(expected);
    // z-scored on the non-test rows: each feature has mean 0 and standard deviation 1 there.
    for (let j = 0; j < kfold.featureSize; j++) {
      const col = Array.from({ length: kfold.train.count }, (_, r) => kfold.train.x[r * kfold.featureSize + j] as number);
      const mean = col.reduce((s, v) => s + v, 0) / col.length;
      expect(mean).toBeCloseTo(0, 5);
      expect(Math.sqrt(col.reduce((s, v) => s + (v - mean) ** 2, 0) / col.length)).toBeCloseTo(1, 4);
    }
    expect(plain.folds).toBeUndefined();
  });

  it('cuts them into disjoint, covering, stratified folds, seeded from the split seed', () => {
    const folds = kfold.folds ?? [];
    expect(folds).toHaveLength(4);
    const n = kfold.val.count;
    const seen = new Array<number>(n).fill(0);
    for (const fold of folds) {
      const held = new Set(fold.val);
      expect(fold.train.some((i) => held.has(i))).toBe(false);
      expect(fold.train.length + fold.val.length).toBe(n);
      for (const i of fold.val) seen[i] = (seen[i] as number) + 1;
    }
    expect(seen.every((c) => c === 1)).toBe(true);
    for (let c = 0; c < kfold.numClasses; c++) {
      const total = kfold.val.y.filter((y) => y === c).length;
      for (const fold of folds) {
        const inFold = Array.from(fold.val).filter((i) => kfold.val.y[i] === c).length;
        expect(inFold).toBeGreaterThanOrEqual(Math.floor(total / 4));
        expect(inFold).toBeLessThanOrEqual(Math.ceil(total / 4));
      }
    }
    const again = loadDataset('iris', { ...options, kfold: 4 });
    expect((again.folds ?? []).map((f) => Array.from(f.val))).toEqual(folds.map((f) => Array.from(f.val)));
    const other = loadDataset('iris', { ...options, splitSeed: 10, kfold: 4 });
    expect((other.folds ?? []).map((f) => Array.from(f.val))).not.toEqual(folds.map((f) => Array.from(f.val)));
  });

  it('refuses k-fold on a data set too large for it, naming the field', () => {
    const path = join(dir, 'big.csv');
    const rows = Array.from({ length: KFOLD_MAX_ROWS + 600 }, (_, i) => `${i % 7},${(i * 13) % 11},${i % 2 ? 'a' : 'b'}`);
    writeFileSync(path, ['u,v,label', ...rows].join('\n'));
    expect(() => loadDataset(`csv:${path}`, { splitSeed: 1, kfold: 3 })).toThrow(/data\.kfold.*at most 2000 non-test rows/);
    expect(loadDataset(`csv:${path}`, { splitSeed: 1, kfold: 3, limit: 1000 }).folds).toHaveLength(3);
  });
});

describe('data.kfold in a search config', () => {
  it('travels with the split options (so every worker rebuilds the same folds)', () => {
    const config = parseSearchConfig({ data: { ref: 'iris', kfold: 3 } });
    expect(config.data.kfold).toBe(3);
    expect(dataOptions(config.data)).toEqual({ splitSeed: 1, kfold: 3 });
    expect(dataOptions(parseSearchConfig({ data: { ref: 'iris' } }).data)).toEqual({ splitSeed: 1 });
  });

  it.each([1, 11, 2.5, '3', null])('refuses kfold %j with an error naming data.kfold', (kfold) => {
    expect(() => parseSearchConfig({ data: { ref: 'iris', kfold } })).toThrow(/data\.kfold.*integer in \[2, 10\]/);
  });
});
