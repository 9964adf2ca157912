/**
 * The scalar and row maps every part of Loom shares (activations, evaluation, losses, ensembles, prediction), so
 * they agree to the bit and treat NaN one way.
 */

/** Logistic σ(v), written so that exp never overflows for large |v|. */
export const sigmoid = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

/**
 * Softmax of the `n` values of `x` from `offset`, into `out[0..n)`; the row max is subtracted first so exp never
 * overflows. Each exp is stored in `out` before dividing (a Float32Array rounds it there, as evaluation always did).
 */
export function softmaxInto(x: ArrayLike<number>, offset: number, n: number, out: Float32Array | Float64Array | number[]): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if ((x[offset + j] as number) > max) max = x[offset + j] as number;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp((x[offset + j] as number) - max);
    out[j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) out[j] = (out[j] as number) / sum;
}

/** Softmax of one row of logits, as float32 values (what the network itself would give). */
export function softmaxRow(row: ArrayLike<number>): number[] {
  const out = new Float32Array(row.length);
  softmaxInto(row, 0, row.length, out);
  return Array.from(out);
}

/**
 * Index of the largest of the `n` values of `values` from `offset`. Ties go to the first; NaN never wins; a row with
 * no value but NaN (or an empty row) gives -1, which matches no class.
 */
export function argmax(values: ArrayLike<number>, offset: number, n: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = values[offset + j] as number;
    if (Number.isNaN(v)) continue;
    if (best < 0 || v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/**
 * into[c] += Σ_r m[r·cols + c] over `rows` rows of a row-major matrix: a bias gradient. The sums run in float64,
 * four rows at a time, and are rounded to float32 once: fewer loads and stores than a float32 add per element, and
 * no less exact.
 */
export function addColumnSums(m: Float32Array, rows: number, cols: number, into: Float32Array): void {
  const acc = new Float64Array(cols);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      const i = o + c;
      acc[c] = (acc[c] as number) + ((m[i] as number) + (m[i + cols] as number) + ((m[i + 2 * cols] as number) + (m[i + 3 * cols] as number)));
    }
  }
  for (; r < rows; r++) for (let c = 0, o = r * cols; c < cols; c++) acc[c] = (acc[c] as number) + (m[o + c] as number);
  for (let c = 0; c < cols; c++) into[c] = (into[c] as number) + (acc[c] as number);
}

/** Writes `row` into each of the first `rows` rows of `out` (a bias before an accumulating matmul), doubling copies. */
export function fillRows(out: Float32Array, row: Float32Array, rows: number): void {
  const total = rows * row.length;
  if (total === 0) return;
  out.set(row, 0);
  for (let filled = row.length; filled < total; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, total - filled));
}
