import { Rng } from '../engine/rng.js';

/**
 * The first two principal components of a set of rows (correctness masks), by power iteration with deflation on
 * the centered data, without forming the covariance matrix: O(iterations · rows · dims). Used only to place
 * models on the analysis page's 2-D cluster picture; seeded so the picture is the same on every load.
 */
export function project2d(rows: readonly ArrayLike<number>[], iterations = 60, seed = 7): Array<[number, number]> {
  const n = rows.length;
  if (n === 0) return [];
  const dim = (rows[0] as ArrayLike<number>).length;
  const mean = new Float64Array(dim);
  for (const r of rows) for (let d = 0; d < dim; d++) mean[d] = (mean[d] as number) + (r[d] as number) / n;
  const centered = rows.map((r) => Float64Array.from({ length: dim }, (_, d) => (r[d] as number) - (mean[d] as number)));
  const rng = new Rng(seed);
  const components: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: dim }, () => rng.normal(0, 1));
    for (let it = 0; it < iterations; it++) {
      // v ← Xᵀ(X v), minus the parts along the components already found.
      const xv = centered.map((row) => dot(row, v));
      const next = new Float64Array(dim);
      centered.forEach((row, i) => {
        const s = xv[i] as number;
        for (let d = 0; d < dim; d++) next[d] = (next[d] as number) + s * (row[d] as number);
      });
      for (const u of components) {
        const p = dot(next, u);
        for (let d = 0; d < dim; d++) next[d] = (next[d] as number) - p * (u[d] as number);
      }
      const norm = Math.sqrt(dot(next, next));
      if (norm < 1e-12) break;
      for (let d = 0; d < dim; d++) next[d] = (next[d] as number) / norm;
      v = next;
    }
    components.push(v);
  }
  return centered.map((row) => [dot(row, components[0] as Float64Array), dot(row, components[1] as Float64Array)]);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}
