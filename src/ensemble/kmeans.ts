import { Rng } from '../engine/rng.js';
import { analysisError } from './masks.js';

/**
 * K-means (Lloyd) with seeded k-means++ initialization, the silhouette score, and the choice of k by silhouette.
 * Points are rows of equal length (for models: their correctness masks, where squared Euclidean distance is the
 * number of samples on which two models differ).
 *
 * Decisions, where LOOM differed or left things open:
 * - Init is k-means++ (LOOM: Forgy). When fewer than k distinct points exist, k-means++ runs out of points at
 *   distance > 0 and k is reduced to the number of distinct points (so k > n is never an error: k becomes ≤ n).
 * - Assignment ties go to the lowest cluster index. Lloyd stops when no assignment changes, or after maxIter.
 * - An empty cluster is re-seeded with the point farthest from its centroid (taken out of its cluster), which is
 *   deterministic and always lowers the inertia; LOOM re-seeded at a random point.
 * - Silhouette follows the standard definition (Rousseeuw 1987, as sklearn): a(i) mean distance to the other
 *   members of its cluster, b(i) lowest mean distance to another cluster, s(i) = (b − a)/max(a, b), and s = 0 for
 *   members of singleton clusters (LOOM gave them 1). The score is the mean s(i); with fewer than two non-empty
 *   clusters it is undefined (NaN).
 */

export type Points = readonly ArrayLike<number>[];

export interface KMeansOptions {
  /** Seeds the k-means++ draws (default 0). */
  readonly seed?: number;
  /** Lloyd iterations at most (default 100). */
  readonly maxIter?: number;
}

export interface KMeansResult {
  /** The number of clusters actually used (≤ the k asked for; see the module comment). */
  readonly k: number;
  readonly centroids: Float64Array[];
  /** Cluster index per point. */
  readonly assignments: Int32Array;
  readonly sizes: number[];
  /** Σ squared distance of each point to its centroid. */
  readonly inertia: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** How many times an empty cluster was re-seeded. */
  readonly reseeds: number;
}

function checkPoints(points: Points): number {
  if (points.length === 0) throw analysisError('k-means: no points to cluster');
  const dim = (points[0] as ArrayLike<number>).length;
  points.forEach((p, i) => {
    if (p.length !== dim) throw analysisError(`k-means: point ${i} has ${p.length} values, point 0 has ${dim}`);
  });
  return dim;
}

export function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return s;
}

/** k-means++: the first centre uniformly, each next one with probability ∝ squared distance to the nearest centre. */
function kmeansPlusPlus(points: Points, k: number, rng: Rng): Float64Array[] {
  const n = points.length;
  const first = rng.int(n);
  const centroids = [Float64Array.from(points[first] as ArrayLike<number>)];
  const nearest = points.map((p) => squaredDistance(p, centroids[0] as Float64Array));
  while (centroids.length < k) {
    const total = nearest.reduce((a, b) => a + b, 0);
    if (total <= 0) break; // every point coincides with a centre: no more distinct points
    const pick = rng.weighted(nearest);
    const c = Float64Array.from(points[pick] as ArrayLike<number>);
    centroids.push(c);
    points.forEach((p, i) => {
      const d = squaredDistance(p, c);
      if (d < (nearest[i] as number)) nearest[i] = d;
    });
  }
  return centroids;
}

function assign(points: Points, centroids: readonly Float64Array[], out: Int32Array, dist: Float64Array): number {
  let changes = 0;
  points.forEach((p, i) => {
    let best = 0;
    let bestD = Infinity;
    centroids.forEach((c, j) => {
      const d = squaredDistance(p, c);
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    });
    if (out[i] !== best) changes++;
    out[i] = best;
    dist[i] = bestD;
  });
  return changes;
}

/** Clusters points into (at most) k groups. */
export function kmeans(points: Points, k: number, options: KMeansOptions = {}): KMeansResult {
  const dim = checkPoints(points);
  if (!Number.isInteger(k) || k < 1) throw analysisError(`k-means: k must be a positive integer, got ${k}`);
  const maxIter = options.maxIter ?? 100;
  const n = points.length;
  const centroids = kmeansPlusPlus(points, Math.min(k, n), new Rng(options.seed ?? 0));
  const kk = centroids.length;
  const assignments = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  let iterations = 0;
  let converged = false;
  let reseeds = 0;
  assign(points, centroids, assignments, dist);
  while (iterations < maxIter) {
    iterations++;
    // Update: means of members; an empty cluster takes the point farthest from its own centroid.
    const sizes = new Array<number>(kk).fill(0);
    for (const a of assignments) sizes[a]++;
    for (let j = 0; j < kk; j++) {
      if ((sizes[j] as number) > 0) continue;
      let far = -1;
      for (let i = 0; i < n; i++) if ((sizes[assignments[i] as number] as number) > 1 && (far < 0 || (dist[i] as number) > (dist[far] as number))) far = i;
      if (far < 0 || (dist[far] as number) === 0) continue;
      sizes[assignments[far] as number]--;
      assignments[far] = j;
      sizes[j] = 1;
      dist[far] = 0;
      reseeds++;
    }
    for (let j = 0; j < kk; j++) if ((sizes[j] as number) > 0) (centroids[j] as Float64Array).fill(0);
    points.forEach((p, i) => {
      const c = centroids[assignments[i] as number] as Float64Array;
      for (let d = 0; d < dim; d++) c[d] = (c[d] as number) + (p[d] as number);
    });
    for (let j = 0; j < kk; j++) {
      const size = sizes[j] as number;
      if (size > 0) {
        const c = centroids[j] as Float64Array;
        for (let d = 0; d < dim; d++) c[d] = (c[d] as number) / size;
      }
    }
    if (assign(points, centroids, assignments, dist) === 0) {
      converged = true;
      break;
    }
  }
  const sizes = new Array<number>(kk).fill(0);
  for (const a of assignments) sizes[a]++;
  return { k: kk, centroids, assignments, sizes, inertia: dist.reduce((a, b) => a + b, 0), iterations, converged, reseeds };
}

/** Euclidean distances between every pair of points, n×n row-major. */
export function distanceMatrix(points: Points): Float64Array {
  checkPoints(points);
  const n = points.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = Math.sqrt(squaredDistance(points[i] as ArrayLike<number>, points[j] as ArrayLike<number>));
      out[i * n + j] = d;
      out[j * n + i] = d;
    }
  }
  return out;
}

/** Silhouette from a precomputed n×n distance matrix (see the module comment for the definition). */
export function silhouetteFromDistances(distances: Float64Array, assignments: ArrayLike<number>): number {
  const n = assignments.length;
  if (distances.length !== n * n) throw analysisError(`silhouette: ${n} assignments for a ${Math.sqrt(distances.length)}-point distance matrix`);
  const labels = [...new Set(Array.from(assignments))].sort((a, b) => a - b);
  if (labels.length < 2) return NaN;
  const index = new Map(labels.map((l, i) => [l, i]));
  const sizes = new Array<number>(labels.length).fill(0);
  for (let i = 0; i < n; i++) sizes[index.get(assignments[i] as number) as number]++;
  const sums = new Float64Array(labels.length);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const own = index.get(assignments[i] as number) as number;
    if ((sizes[own] as number) === 1) continue; // singleton: s = 0
    sums.fill(0);
    for (let j = 0; j < n; j++) sums[index.get(assignments[j] as number) as number] += distances[i * n + j] as number;
    const a = (sums[own] as number) / ((sizes[own] as number) - 1);
    let b = Infinity;
    for (let c = 0; c < labels.length; c++) if (c !== own) b = Math.min(b, (sums[c] as number) / (sizes[c] as number));
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / n;
}

export function silhouette(points: Points, assignments: ArrayLike<number>): number {
  if (points.length !== assignments.length) throw analysisError(`silhouette: ${points.length} points but ${assignments.length} assignments`);
  return silhouetteFromDistances(distanceMatrix(points), assignments);
}

export interface ChooseKOptions extends KMeansOptions {
  readonly kMin?: number;
  /** Default min(10, n − 1). */
  readonly kMax?: number;
}

export interface KChoice {
  /** The best clustering (highest silhouette; the smaller k on ties). With fewer than 3 points: one cluster. */
  readonly best: KMeansResult & { readonly silhouette: number };
  readonly candidates: { readonly k: number; readonly silhouette: number; readonly inertia: number }[];
}

/** Runs k-means for k = kMin..kMax (each seeded alike) and keeps the k with the best silhouette. */
export function chooseK(points: Points, options: ChooseKOptions = {}): KChoice {
  checkPoints(points);
  const n = points.length;
  const kMin = Math.max(2, options.kMin ?? 2);
  const kMax = Math.min(options.kMax ?? 10, n - 1);
  const distances = kMax >= kMin ? distanceMatrix(points) : new Float64Array(0);
  const candidates: KChoice['candidates'][number][] = [];
  let best: KChoice['best'] | null = null;
  const seen = new Set<number>();
  for (let k = kMin; k <= kMax; k++) {
    const result = kmeans(points, k, options);
    if (seen.has(result.k)) break; // fewer distinct points than k: larger k gives the same clustering
    seen.add(result.k);
    const s = result.k >= 2 ? silhouetteFromDistances(distances, result.assignments) : NaN;
    candidates.push({ k: result.k, silhouette: s, inertia: result.inertia });
    if (!Number.isNaN(s) && (!best || s > best.silhouette)) best = { ...result, silhouette: s };
  }
  if (!best) best = { ...kmeans(points, 1, options), silhouette: NaN };
  return { best, candidates };
}
