import type { Param } from '../layers/types.js';

/** L2 norm of all gradients together, as if they were one vector (summed in float64). */
export function globalGradNorm(params: readonly Param[]): number {
  let sum = 0;
  for (const p of params) {
    const g = p.grad;
    for (let i = 0; i < g.length; i++) sum += (g[i] as number) * (g[i] as number);
  }
  return Math.sqrt(sum);
}

/**
 * Global-norm clipping: when the joint L2 norm of every gradient exceeds `maxNorm`, all gradients are scaled by
 * maxNorm/norm, so their direction is kept. Returns the norm before clipping. A non-finite norm is returned
 * untouched (the NaN-loss check reports it; scaling would only hide where it came from).
 */
export function clipGradNorm(params: readonly Param[], maxNorm: number): number {
  const norm = globalGradNorm(params);
  if (!(maxNorm > 0) || !Number.isFinite(norm) || norm <= maxNorm) return norm;
  const scale = maxNorm / norm;
  for (const p of params) {
    const g = p.grad;
    for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * scale;
  }
  return norm;
}
