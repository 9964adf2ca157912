import type { AdamwArgs } from './types.js';

/**
 * The AdamW step in plain JavaScript: the reference for Backend.adamw, and what train/optimizers.ts runs when the
 * backend has no fused step. Float64 arithmetic (JavaScript numbers), stored rounded to float32.
 */
export function adamwJs(args: AdamwArgs): void {
  const { w, g, m, v, beta1: b1, beta2: b2, eps, stepSize, invSqrtC2, decay } = args;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] as number;
    const mi = b1 * (m[i] as number) + (1 - b1) * gi;
    const vi = b2 * (v[i] as number) + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const wi = w[i] as number;
    w[i] = wi - (stepSize * mi) / (Math.sqrt(vi) * invSqrtC2 + eps) - decay * wi;
  }
}
