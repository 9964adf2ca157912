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
