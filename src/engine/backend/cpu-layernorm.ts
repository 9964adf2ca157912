import type { LayerNormArgs, LayerNormBackwardArgs } from './types.js';

/**
 * LayerNorm's loops in plain JavaScript: the reference for Backend.layerNorm / layerNormBackward and what
 * layers/layernorm.ts runs when the backend has none. Float64 arithmetic (JavaScript numbers), stored rounded to
 * float32; the row sums run in fixed lanes (below), which the native copy repeats to give the same bits.
 */
export function layerNormJs(args: LayerNormArgs): void {
  // Locals throughout: the loops then read typed arrays only, with no property loads per element.
  const { x, gamma: g, beta: b, y, xHat, invStd, rows, width: d, epsilon } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const mean = rowSum(x, o, d) / d;
    const variance = rowSquaredDeviations(x, o, d, mean) / d;
    const inv = 1 / Math.sqrt(variance + epsilon);
    invStd[r] = inv;
    for (let i = 0; i < d; i++) {
      const h = ((x[o + i] as number) - mean) * inv;
      xHat[o + i] = h;
      y[o + i] = (g[i] as number) * h + (b[i] as number);
    }
  }
}

/** dx = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·γ per row; dγ += Σ dy·x̂, dβ += Σ dy. */
export function layerNormBackwardJs(args: LayerNormBackwardArgs): void {
  const { dy, xHat, invStd, gamma: g, dx, dGamma: dg, dBeta: db, rows, width: d } = args;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    // Two elements a step, each into its own pair of sums (the latency argument of rowSum).
    let sumG0 = 0;
    let sumG1 = 0;
    let sumGX0 = 0;
    let sumGX1 = 0;
    let i = 0;
    for (; i + 2 <= d; i += 2) {
      const gy0 = dy[o + i] as number;
      const gy1 = dy[o + i + 1] as number;
      const h0 = xHat[o + i] as number;
      const h1 = xHat[o + i + 1] as number;
      dg[i] = (dg[i] as number) + gy0 * h0;
      dg[i + 1] = (dg[i + 1] as number) + gy1 * h1;
      db[i] = (db[i] as number) + gy0;
      db[i + 1] = (db[i + 1] as number) + gy1;
      const gh0 = gy0 * (g[i] as number);
      const gh1 = gy1 * (g[i + 1] as number);
      sumG0 += gh0;
      sumG1 += gh1;
      sumGX0 += gh0 * h0;
      sumGX1 += gh1 * h1;
    }
    if (i < d) {
      const gy = dy[o + i] as number;
      const h = xHat[o + i] as number;
      dg[i] = (dg[i] as number) + gy * h;
      db[i] = (db[i] as number) + gy;
      const gh = gy * (g[i] as number);
      sumG0 += gh;
      sumGX0 += gh * h;
    }
    const meanG = (sumG0 + sumG1) / d;
    const meanGX = (sumGX0 + sumGX1) / d;
    const inv = invStd[r] as number;
    for (let j = 0; j < d; j++) {
      const gh = (dy[o + j] as number) * (g[j] as number);
      dx[o + j] = inv * (gh - meanG - (xHat[o + j] as number) * meanGX);
    }
  }
}

// Row reductions in four independent float64 partial sums: one running sum waits on each add's latency, four keep
// the adder busy.

/** Σ a[o+i] over i < n. */
function rowSum(a: Float32Array, o: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = o;
  const end = o + n;
  for (; i + 4 <= end; i += 4) {
    s0 += a[i] as number;
    s1 += a[i + 1] as number;
    s2 += a[i + 2] as number;
    s3 += a[i + 3] as number;
  }
  for (; i < end; i++) s0 += a[i] as number;
  return s0 + s1 + (s2 + s3);
}

/** Σ (a[o+i] − mean)² over i < n. */
function rowSquaredDeviations(a: Float32Array, o: number, n: number, mean: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = o;
  const end = o + n;
  for (; i + 4 <= end; i += 4) {
    const c0 = (a[i] as number) - mean;
    const c1 = (a[i + 1] as number) - mean;
    const c2 = (a[i + 2] as number) - mean;
    const c3 = (a[i + 3] as number) - mean;
    s0 += c0 * c0;
    s1 += c1 * c1;
    s2 += c2 * c2;
    s3 += c3 * c3;
  }
  for (; i < end; i++) {
    const c = (a[i] as number) - mean;
    s0 += c * c;
  }
  return s0 + s1 + (s2 + s3);
}

