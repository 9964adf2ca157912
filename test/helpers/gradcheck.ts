import { expect } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { Backend } from '../../src/engine/backend/types.js';
import type { Layer, Param, RunContext } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';

/** Anything with a forward, a backward and params: a Layer or a Network. */
export interface Differentiable {
  forward(x: Tensor, ctx: RunContext): Tensor;
  backward(dy: Tensor, ctx: RunContext): Tensor;
  params(): Param[];
}

export interface GradCheckOptions {
  /** Central-difference step. */
  eps?: number;
  /** Max relative error ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) per tensor. */
  tol?: number;
  /** How many entries of each tensor to probe (all when the tensor is smaller). */
  probes?: number;
  /** Skip the input gradient (Embedding: ids have none). */
  skipInput?: boolean;
  training?: boolean;
  seed?: number;
  backend?: Backend;
}

export interface GradCheckReport {
  /** name → relative error; "input" for dL/dx. */
  errors: Record<string, number>;
  /** name → norm of the analytic gradient over the probed entries. */
  norms: Record<string, number>;
  /**
   * name → ‖grad after a second backward without zeroing − 2·grad of the first‖ / max(‖2·grad of the first‖, 1e-4):
   * backward must add into Param.grad (gradient accumulation relies on it), so this is float rounding only.
   */
  accumulation: Record<string, number>;
}

/**
 * Compares backward against central finite differences of L = Σ y·r for a fixed random r, for the input and
 * every parameter. The loss is summed in float64 so float32 rounding stays well below the tolerance.
 * Each forward gets a fresh context seeded identically, so stochastic layers (Gumbel) see the same noise.
 * A second forward/backward without zeroing measures whether backward adds into every Param.grad.
 */
export function gradCheck(model: Differentiable, x: Tensor, opts: GradCheckOptions = {}): GradCheckReport {
  const eps = opts.eps ?? 1e-3;
  const probes = opts.probes ?? 40;
  const seed = opts.seed ?? 7;
  const backend = opts.backend ?? cpuJsBackend;
  const ctx = (): RunContext => ({ training: opts.training ?? false, rng: new Rng(seed), backend });

  const y0 = model.forward(x, ctx());
  const r = new Float32Array(y0.data.length);
  const rRng = new Rng(seed + 1);
  for (let i = 0; i < r.length; i++) r[i] = rRng.uniform(-1, 1);
  const loss = (): number => {
    const y = model.forward(x, ctx());
    let s = 0;
    for (let i = 0; i < r.length; i++) s += (y.data[i] as number) * (r[i] as number);
    return s;
  };

  const params = model.params();
  for (const p of params) p.grad.fill(0);
  model.forward(x, ctx());
  const dx = model.backward({ data: Float32Array.from(r), shape: y0.shape }, ctx());
  const dxFirst = Float32Array.from(dx.data);
  const analytic = new Map<string, Float32Array>(params.map((p) => [p.name, Float32Array.from(p.grad)]));

  // The same pass again, grads not zeroed: each must now be twice the first.
  model.forward(x, ctx());
  model.backward({ data: Float32Array.from(r), shape: y0.shape }, ctx());
  const accumulation: Record<string, number> = {};
  for (const p of params) {
    const first = analytic.get(p.name) as Float32Array;
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < first.length; i++) {
      diff += ((p.grad[i] as number) - 2 * (first[i] as number)) ** 2;
      norm += (2 * (first[i] as number)) ** 2;
    }
    // The floor keeps gradients that are zero in exact arithmetic (an attention key bias: ~1e-9 of noise) from
    // reading as large relative errors; a backward that overwrites instead of adding gives ≥ 0.5 for any real one.
    accumulation[p.name] = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-4);
  }

  const pickRng = new Rng(seed + 2);
  const probeIndices = (n: number): number[] =>
    n <= probes ? Array.from({ length: n }, (_, i) => i) : pickRng.permutation(n).slice(0, probes);

  const report: GradCheckReport = { errors: {}, norms: {}, accumulation };
  const compare = (name: string, values: Float32Array, grad: Float32Array): void => {
    let diff = 0;
    let na = 0;
    let nn = 0;
    for (const i of probeIndices(values.length)) {
      const orig = values[i] as number;
      values[i] = orig + eps;
      const lp = loss();
      values[i] = orig - eps;
      const lm = loss();
      values[i] = orig;
      const numeric = (lp - lm) / (2 * eps);
      const a = grad[i] as number;
      diff += (a - numeric) ** 2;
      na += a * a;
      nn += numeric * numeric;
    }
    const scale = Math.max(Math.sqrt(na), Math.sqrt(nn), 1e-6);
    report.errors[name] = Math.sqrt(diff) / scale;
    report.norms[name] = Math.sqrt(na);
  };

  if (!opts.skipInput) compare('input', x.data, dxFirst);
  for (const p of params) compare(p.name, p.value, analytic.get(p.name) as Float32Array);
  return report;
}

/**
 * gradCheck plus assertions: every error under tol, (unless allowed) every gradient non-trivial, and every param's
 * gradient accumulated by a second backward (twice the first, to float rounding).
 */
export function expectGradientsMatch(
  model: Differentiable,
  x: Tensor,
  opts: GradCheckOptions & { allowZero?: readonly string[] } = {},
): GradCheckReport {
  const tol = opts.tol ?? 1e-2;
  const report = gradCheck(model, x, opts);
  for (const [name, err] of Object.entries(report.errors)) {
    expect(err, `relative gradient error for ${name} (analytic norm ${report.norms[name]})`).toBeLessThan(tol);
    if (!opts.allowZero?.includes(name)) {
      expect(report.norms[name], `gradient of ${name} is zero: the check would prove nothing`).toBeGreaterThan(1e-6);
    }
  }
  for (const [name, err] of Object.entries(report.accumulation)) {
    expect(err, `a second backward must add into ${name}.grad (twice the first gradient); relative error`).toBeLessThan(1e-5);
  }
  return report;
}

/** A random batch of the given per-sample shape. */
export function randomTensor(shape: readonly number[], seed = 3, lo = -1, hi = 1): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(lo, hi);
  return { data, shape: [...shape] };
}

/**
 * For a layer whose training forward is linear in its input (a fixed seeded resampling: shifts, rotations): its
 * backward must be the forward's adjoint, ⟨forward(x), g⟩ = ⟨x, backward(g)⟩ for any x and g, and, when each output is
 * a weighted average of inputs (weights summing to 1), keep the gradient's sum.
 */
export function expectAdjointResampling(layer: Differentiable, shape: readonly number[], ctx: () => RunContext): void {
  const x = randomTensor(shape, 2);
  const g = randomTensor(shape, 3);
  const y = layer.forward(x, ctx());
  const dx = layer.backward(g, ctx());
  let left = 0;
  let right = 0;
  for (let i = 0; i < y.data.length; i++) left += (y.data[i] as number) * (g.data[i] as number);
  for (let i = 0; i < x.data.length; i++) right += (x.data[i] as number) * (dx.data[i] as number);
  expect(Math.abs(left - right)).toBeLessThan(1e-4 * Math.max(1, Math.abs(left)));
  const sum = (a: Float32Array): number => a.reduce((s, v) => s + v, 0);
  expect(sum(dx.data)).toBeCloseTo(sum(g.data), 3);
}
