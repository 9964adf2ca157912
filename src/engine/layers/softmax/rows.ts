/**
 * Pure per-row probability maps and their vector–Jacobian products, in float64.
 *
 * Every forward writes `y` from logits `z` (same length); every backward writes dL/dz into `dz` from the forward's
 * output `y` and the upstream gradient `g`. The maps are the α-entmax family: softmax (α = 1), sparsemax (α = 2)
 * and entmax in between, each solving y = argmax_{p ∈ simplex} p·z + H_α(p).
 */

/** A row of numbers we read (float32 gradients from upstream or float64 intermediates). */
export type ReadVec = Float32Array | Float64Array;

/** y = softmax(z), shifted by max(z) so exp never overflows. Entries of −Infinity get exactly 0. */
export function softmaxRow(z: ReadVec, y: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i]! > max) max = z[i]!;
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const e = Math.exp(z[i]! - max);
    y[i] = e;
    sum += e;
  }
  for (let i = 0; i < z.length; i++) y[i] = y[i]! / sum;
}

/** Softmax over the positions where keep[i] is true; the others get probability exactly 0. */
export function maskedSoftmaxRow(z: ReadVec, keep: readonly boolean[], y: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (keep[i] && z[i]! > max) max = z[i]!;
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const e = keep[i] ? Math.exp(z[i]! - max) : 0;
    y[i] = e;
    sum += e;
  }
  for (let i = 0; i < z.length; i++) y[i] = y[i]! / sum;
}

/** Softmax Jacobian: dz_i = y_i·(g_i − Σ_j y_j g_j). Zero wherever y is zero (masked positions). */
export function softmaxBackwardRow(y: ReadVec, g: ReadVec, dz: Float64Array): void {
  let dot = 0;
  for (let i = 0; i < y.length; i++) dot += y[i]! * g[i]!;
  for (let i = 0; i < y.length; i++) dz[i] = y[i]! * (g[i]! - dot);
}

/**
 * Sparsemax (Martins & Astudillo 2016): the Euclidean projection of z onto the simplex, y = max(0, z − τ).
 * With s = z sorted descending, k = the largest i with s_i > (Σ_{j≤i} s_j − 1)/i and τ = (Σ_{j≤k} s_j − 1)/k.
 * (LOOM adds each element twice into that sum, which zeroes [1,2,3,4]; here it gives [0,0,0,1].)
 */
export function sparsemaxRow(z: ReadVec, y: Float64Array): void {
  const sorted = Float64Array.from(z).sort(); // ascending: walk it from the end
  const n = sorted.length;
  let cumulative = 0;
  let tau = 0;
  for (let k = 1; k <= n; k++) {
    const s = sorted[n - k]!;
    cumulative += s;
    const candidate = (cumulative - 1) / k;
    if (s > candidate) tau = candidate;
    else break; // the condition holds for a prefix of k only
  }
  for (let i = 0; i < n; i++) y[i] = Math.max(0, z[i]! - tau);
}

/** Sparsemax Jacobian: on the support S = {y > 0}, dz_i = g_i − mean_{j∈S} g_j; 0 elsewhere. */
export function sparsemaxBackwardRow(y: ReadVec, g: ReadVec, dz: Float64Array): void {
  let sum = 0;
  let support = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i]! > 0) {
      sum += g[i]!;
      support++;
    }
  }
  const mean = support > 0 ? sum / support : 0;
  for (let i = 0; i < y.length; i++) dz[i] = y[i]! > 0 ? g[i]! - mean : 0;
}

/** Bisection steps for α-entmax: the bracket starts narrower than 1, so 64 halvings reach float64 resolution. */
const ENTMAX_BISECTION_STEPS = 64;

/**
 * α-entmax (Peters, Niculae & Martins 2019): y_i = [(α−1)·z_i − τ]_+^{1/(α−1)} with τ chosen so Σy = 1.
 * α = 1 is exactly softmax and α = 2 exactly sparsemax; otherwise τ is found by bisection on the monotone
 * f(τ) = Σ_i y_i(τ) − 1, bracketed by τ = max − 1 (f ≥ 0) and τ = max − n^{1−α} (f ≤ 0), and y is renormalized.
 */
export function entmaxRow(z: ReadVec, alpha: number, y: Float64Array): void {
  if (alpha === 1) return softmaxRow(z, y);
  if (alpha === 2) return sparsemaxRow(z, y);
  entmaxBisectionRow(z, alpha, y);
}

/**
 * The general α-entmax path (bisection on τ), without the α = 1 and α = 2 shortcuts; exported so tests can check it
 * against them. At α = 1 the map u^{1/(α−1)} is its limit exp(u) and the bracket closes at max − 1, which is softmax.
 */
export function entmaxBisectionRow(z: ReadVec, alpha: number, y: Float64Array): void {
  const n = z.length;
  const am1 = alpha - 1;
  const power = 1 / am1;
  // At α = 1 the scores are not scaled and every one is in the support.
  const scale = am1 === 0 ? 1 : am1;
  const lift = (u: number): number => (am1 === 0 ? Math.exp(u) : u > 0 ? Math.pow(u, power) : 0);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (z[i]! * scale > max) max = z[i]! * scale;
  const mass = (tau: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += lift(z[i]! * scale - tau);
    return s;
  };
  let lo = max - 1;
  let hi = max - Math.pow(n, -am1);
  for (let step = 0; step < ENTMAX_BISECTION_STEPS && hi > lo; step++) {
    const mid = (lo + hi) / 2;
    if (mass(mid) >= 1) lo = mid;
    else hi = mid;
  }
  // Evaluate at the lower end (mass ≥ 1, so the support is never empty) and renormalize away the bracket error.
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = lift(z[i]! * scale - lo);
    y[i] = p;
    sum += p;
  }
  for (let i = 0; i < n; i++) y[i] = y[i]! / sum;
}

/**
 * α-entmax Jacobian (symmetric): with s_i = y_i^{2−α} on the support (0 elsewhere),
 * dz = s⊙g − s·(Σ s⊙g)/Σ s. Reduces to the softmax Jacobian at α = 1 and to sparsemax's at α = 2.
 */
export function entmaxBackwardRow(y: ReadVec, g: ReadVec, alpha: number, dz: Float64Array): void {
  if (alpha === 1) return softmaxBackwardRow(y, g, dz);
  if (alpha === 2) return sparsemaxBackwardRow(y, g, dz);
  entmaxGeneralBackwardRow(y, g, alpha, dz);
}

/** The general α-entmax Jacobian product, without the shortcuts (exact at α = 1 and 2 too); exported for tests. */
export function entmaxGeneralBackwardRow(y: ReadVec, g: ReadVec, alpha: number, dz: Float64Array): void {
  let sumS = 0;
  let sumSG = 0;
  for (let i = 0; i < y.length; i++) {
    const s = y[i]! > 0 ? Math.pow(y[i]!, 2 - alpha) : 0;
    dz[i] = s;
    sumS += s;
    sumSG += s * g[i]!;
  }
  const shift = sumS > 0 ? sumSG / sumS : 0;
  for (let i = 0; i < y.length; i++) dz[i] = dz[i]! * (g[i]! - shift);
}
