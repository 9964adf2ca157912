import { describe, expect, it } from 'vitest';
import { chooseK, distanceMatrix, kmeans, silhouette, silhouetteFromDistances, squaredDistance } from '../../src/ensemble/kmeans.js';
import { Rng } from '../../src/engine/rng.js';

describe('kmeans', () => {
  it('splits two obvious groups, with centroids and inertia computed by hand', () => {
    const r = kmeans([[0], [1], [10], [11]], 2, { seed: 3 });
    expect(r.k).toBe(2);
    const a = r.assignments;
    expect(a[0]).toBe(a[1]);
    expect(a[2]).toBe(a[3]);
    expect(a[0]).not.toBe(a[2]);
    expect([...(r.centroids[a[0] as number] as Float64Array)]).toEqual([0.5]);
    expect([...(r.centroids[a[2] as number] as Float64Array)]).toEqual([10.5]);
    expect(r.inertia).toBeCloseTo(4 * 0.25, 12);
    expect(r.sizes).toEqual([2, 2]);
    expect(r.converged).toBe(true);
  });

  it('is reproducible for a seed', () => {
    const rng = new Rng(5);
    const pts = Array.from({ length: 40 }, () => [rng.normal(), rng.normal(), rng.normal()]);
    const a = kmeans(pts, 4, { seed: 11 });
    const b = kmeans(pts, 4, { seed: 11 });
    expect([...a.assignments]).toEqual([...b.assignments]);
    expect(a.inertia).toBe(b.inertia);
  });

  it('reduces k larger than the number of points (or distinct points) instead of failing', () => {
    const r = kmeans([[0, 1], [2, 3], [4, 5]], 10);
    expect(r.k).toBe(3);
    expect(r.inertia).toBe(0);
    expect([...r.assignments].sort()).toEqual([0, 1, 2]);
    const dup = kmeans([[0], [0], [1]], 3);
    expect(dup.k).toBe(2);
    expect(dup.inertia).toBe(0);
  });

  it('re-seeds an empty cluster with the point farthest from its centroid', () => {
    // Centroids 1.5, 100, 101: clusters 1 and 2 start empty. Cluster 1 takes point 0 (distance 2.25, first of
    // the two farthest), cluster 2 takes point 3; then centroids 1.5, 0, 3 and inertia 0.25 + 0.25.
    const r = kmeans([[0], [1], [2], [3]], 3, { initialCentroids: [[1.5], [100], [101]] });
    expect(r.reseeds).toBe(2);
    expect([...r.assignments]).toEqual([1, 0, 0, 2]);
    expect(r.inertia).toBeCloseTo(0.5, 12);
    expect(r.sizes).toEqual([2, 1, 1]);
  });

  /** Six gaussian groups in 2-d: enough local minima that single k-means++ starts often land in a worse one. */
  const sixGroups = (): number[][] => {
    const rng = new Rng(7);
    const centers = Array.from({ length: 6 }, () => [rng.normal(0, 4), rng.normal(0, 4)]);
    return centers.flatMap((c) => Array.from({ length: 15 }, () => [(c[0] as number) + rng.normal(), (c[1] as number) + rng.normal()]));
  };
  const directInertia = (pts: number[][], r: ReturnType<typeof kmeans>): number =>
    pts.reduce((a, p, i) => a + squaredDistance(p, r.centroids[r.assignments[i] as number] as Float64Array), 0);

  it('keeps the lowest inertia of several seeded k-means++ restarts (8 by default)', () => {
    const pts = sixGroups();
    let better = 0;
    for (let seed = 0; seed < 8; seed++) {
      const one = kmeans(pts, 6, { seed, restarts: 1 });
      const many = kmeans(pts, 6, { seed });
      // The first restart draws exactly what a single start draws, so several can only be as good or better.
      expect(many.inertia).toBeLessThanOrEqual(one.inertia + 1e-9);
      if (many.inertia < one.inertia - 1e-6) better++;
      expect(kmeans(pts, 6, { seed }).inertia).toBe(many.inertia);
    }
    expect(better).toBeGreaterThanOrEqual(4);
    expect(() => kmeans(pts, 2, { restarts: 0 })).toThrow(/restarts must be a positive integer/);
  });

  it('reports the inertia of the final means when maxIter stops Lloyd early', () => {
    const pts = sixGroups();
    const r = kmeans(pts, 6, { seed: 1, restarts: 1, maxIter: 1 });
    expect(r.converged).toBe(false);
    expect(r.inertia).toBeCloseTo(directInertia(pts, r), 9);
    const full = kmeans(pts, 6, { seed: 1 });
    expect(full.inertia).toBeCloseTo(directInertia(pts, full), 9);
  });

  it('rejects bad input clearly', () => {
    expect(() => kmeans([], 2)).toThrow(/no points/);
    expect(() => kmeans([[1, 2], [3]], 2)).toThrow(/point 1 has 1 values/);
    expect(() => kmeans([[1]], 0)).toThrow(/positive integer/);
  });
});

describe('silhouette', () => {
  it('matches the hand-computed value for two clusters', () => {
    // point 0: a = 1, b = (10 + 11)/2; point 1: a = 1, b = (9 + 10)/2; points 2, 3 mirror them.
    const s = silhouette([[0], [1], [10], [11]], [0, 0, 1, 1]);
    expect(s).toBeCloseTo((9.5 / 10.5 + 8.5 / 9.5) / 2, 12);
  });

  it('gives singletons 0 (not 1 as LOOM)', () => {
    // point 2 alone: 0; point 0: a = 1, b = 5 → 0.8; point 1: a = 1, b = 4 → 0.75.
    expect(silhouette([[0], [1], [5]], [0, 0, 1])).toBeCloseTo((0.8 + 0.75 + 0) / 3, 12);
    expect(silhouette([[0], [1], [5]], [0, 1, 2])).toBe(0);
  });

  it('is undefined (NaN) for a single cluster', () => {
    expect(silhouette([[0], [1], [5]], [2, 2, 2])).toBeNaN();
  });

  it('uses Euclidean distances (not squared)', () => {
    const d = distanceMatrix([[0, 0], [3, 4]]);
    expect([...d]).toEqual([0, 5, 5, 0]);
    expect(silhouetteFromDistances(d, [0, 1])).toBe(0);
  });
});

describe('chooseK', () => {
  it('finds three separated groups', () => {
    const rng = new Rng(1);
    const centers = [[0, 0], [20, 0], [0, 20]];
    const pts = centers.flatMap((c) => Array.from({ length: 8 }, () => [(c[0] as number) + rng.normal(), (c[1] as number) + rng.normal()]));
    const choice = chooseK(pts, { seed: 2, kMax: 6 });
    expect(choice.best.k).toBe(3);
    expect(choice.candidates.map((c) => c.k)).toEqual([2, 3, 4, 5, 6]);
    const best = Math.max(...choice.candidates.map((c) => c.silhouette));
    expect(choice.best.silhouette).toBe(best);
  });

  it('falls back to one cluster when there are too few points', () => {
    const choice = chooseK([[0], [1]]);
    expect(choice.best.k).toBe(1);
    expect(choice.best.silhouette).toBeNaN();
    expect(choice.candidates).toEqual([]);
  });
});
