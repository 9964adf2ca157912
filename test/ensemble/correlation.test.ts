import { describe, expect, it } from 'vitest';
import {
  averageRanks,
  correlationMatrix,
  correlationsWith,
  parameterCorrelations,
  pearson,
  spearman,
  strongCorrelations,
} from '../../src/ensemble/correlation.js';

describe('pearson', () => {
  it('matches hand-computed values', () => {
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // dx = [-2,-1,0,1,2], dy = [-1,-2,1,0,2]: Σdxdy = 8, Σdx² = Σdy² = 10
    expect(pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12);
  });

  it('is NaN for a constant series or fewer than two samples', () => {
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([4], [2])).toBeNaN();
  });

  it('refuses series of different lengths', () => {
    expect(() => pearson([1, 2], [1, 2, 3])).toThrow(/different lengths/);
  });
});

describe('spearman', () => {
  it('gives ties their average rank', () => {
    expect([...averageRanks([10, 20, 20, 30])]).toEqual([1, 2.5, 2.5, 4]);
    expect([...averageRanks([3, 1, 3, 3])]).toEqual([3, 1, 3, 3]);
    expect([...averageRanks([5, 5, 5])]).toEqual([2, 2, 2]);
  });

  it('matches the hand-computed value with ties', () => {
    // ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]: Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5 → 3/√10
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(3 / Math.sqrt(10), 12);
  });

  it('is 1 for any monotone relation and works with more samples than features (LOOM panicked)', () => {
    const x = [0.1, 0.5, 0.2, 3, 7, 1];
    expect(spearman(x, x.map((v) => Math.exp(v)))).toBeCloseTo(1, 12);
    const cm = correlationMatrix([x, x.map((v) => -v * v)], ['x', 'y'], 'spearman');
    expect(cm.matrix[0]?.[1]).toBeCloseTo(-1, 12);
  });
});

describe('correlation matrices', () => {
  it('agree with pairwise pearson, label F0.. by default, and give constant columns NaN (diagonal included)', () => {
    const cols = [
      [1, 2, 3, 4, 5],
      [2, 1, 4, 3, 5],
      [7, 7, 7, 7, 7],
    ];
    const cm = correlationMatrix(cols);
    expect(cm.labels).toEqual(['F0', 'F1', 'F2']);
    expect(cm.n).toBe(3);
    expect(cm.samples).toBe(5);
    expect(cm.matrix[0]?.[0]).toBe(1);
    expect(cm.matrix[0]?.[1]).toBeCloseTo(0.8, 12);
    expect(cm.matrix[1]?.[0]).toBeCloseTo(0.8, 12);
    expect(cm.matrix[2]).toEqual([NaN, NaN, NaN]);
    expect(cm.matrix[0]?.[2]).toBeNaN();
  });

  it('lists strong correlations by |r|, skipping NaN, ties in (i, j) order', () => {
    const cm = { labels: ['a', 'b', 'c', 'd'], n: 4, samples: 10, matrix: [
      [1, 0.9, -0.95, NaN],
      [0.9, 1, 0.9, 0.1],
      [-0.95, 0.9, 1, 0.2],
      [NaN, 0.1, 0.2, NaN],
    ] };
    const strong = strongCorrelations(cm, 0.9);
    expect(strong.map((p) => [p.feature1, p.feature2, p.correlation])).toEqual([
      ['a', 'c', -0.95],
      ['a', 'b', 0.9],
      ['b', 'c', 0.9],
    ]);
    expect(strongCorrelations(cm, 0.9, 1)).toHaveLength(1);
    expect(correlationsWith(cm, 'd').map((p) => p.feature2)).toEqual(['c', 'b', 'a']);
    expect(correlationsWith(cm, 'zzz')).toEqual([]);
  });

  it('relates config parameters to accuracy over the models that have them', () => {
    const params: Record<string, number>[] = [{ lr: 0.1, depth: 1, fixed: 3 }, { lr: 0.2, depth: 2, fixed: 3 }, { lr: 0.3, depth: 2, fixed: 3 }, { lr: 0.4, fixed: 3 }];
    const acc = [0.5, 0.6, 0.7, 0.9];
    const out = parameterCorrelations(params, acc);
    expect(out.map((p) => p.parameter)).toEqual(['lr', 'depth', 'fixed']);
    expect(out[0]?.spearman).toBeCloseTo(1, 12);
    expect(out[1]?.n).toBe(3);
    // depth ranks [1, 2.5, 2.5] vs accuracy ranks [1, 2, 3]: Σdxdy = 1.5, Σdx² = 1.5, Σdy² = 2
    expect(out[1]?.spearman).toBeCloseTo(1.5 / Math.sqrt(3), 12);
    expect(out[2]?.pearson).toBeNaN();
  });
});
