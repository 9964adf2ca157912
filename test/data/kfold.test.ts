import { describe, expect, it } from 'vitest';
import { KFOLD_MAX_ROWS, kFoldSplits, outOfFold, stratifiedFolds } from '../../src/data/kfold.js';

// 3 unbalanced classes: 50, 31 and 7 samples, interleaved.
const labels = Int32Array.from([...Array(50).fill(0), ...Array(31).fill(1), ...Array(7).fill(2)].map((c, i, a) => a[(i * 37) % a.length] as number));

describe('stratified k-fold', () => {
  it('folds are disjoint, cover every sample once, and train/val never overlap', () => {
    const splits = kFoldSplits(labels, 5, 11);
    expect(splits).toHaveLength(5);
    const seen = new Array(labels.length).fill(0);
    for (const s of splits) {
      const val = new Set(s.val);
      expect(s.train.some((i) => val.has(i))).toBe(false);
      expect(s.train.length + s.val.length).toBe(labels.length);
      for (const i of s.val) seen[i]++;
    }
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  it('is stratified: each fold holds ⌊n_c/k⌋ or ⌈n_c/k⌉ of every class, and sizes differ by at most one', () => {
    const k = 5;
    const fold = stratifiedFolds(labels, k, 11);
    for (const c of [0, 1, 2]) {
      const n = labels.filter((y) => y === c).length;
      for (let f = 0; f < k; f++) {
        const count = labels.filter((y, i) => y === c && fold[i] === f).length;
        expect(count).toBeGreaterThanOrEqual(Math.floor(n / k));
        expect(count).toBeLessThanOrEqual(Math.ceil(n / k));
      }
    }
    const sizes = Array.from({ length: k }, (_, f) => fold.filter((g) => g === f).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('is seeded: the same seed gives the same folds, another seed others', () => {
    expect(stratifiedFolds(labels, 4, 1)).toEqual(stratifiedFolds(labels, 4, 1));
    expect(stratifiedFolds(labels, 4, 1)).not.toEqual(stratifiedFolds(labels, 4, 2));
    expect(() => stratifiedFolds(labels, 1, 1)).toThrow(/kfold/);
    expect(KFOLD_MAX_ROWS).toBe(2000);
  });

  it('puts out-of-fold predictions back in sample order', () => {
    const y = Int32Array.from([0, 1, 0, 1, 0, 1]);
    const splits = kFoldSplits(y, 3, 5);
    // Each fold "predicts" its samples' own index in column 0.
    const probs = splits.map((s) => Float32Array.from([...s.val].flatMap((i) => [i, 0])));
    const oof = outOfFold(probs, splits, y.length, 2);
    expect([...oof].filter((_, j) => j % 2 === 0)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => outOfFold(probs.slice(1), splits, y.length, 2)).toThrow(/folds/);
  });
});
