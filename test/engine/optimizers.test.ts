import { describe, expect, it } from 'vitest';
import { makeParam, prefixParams, type Param } from '../../src/engine/layers/types.js';
import { adamw, createOptimizer, momentum, rmsprop, sgd, type Optimizer } from '../../src/engine/train/optimizers.js';

/** f(w) = ½ Σ aᵢ wᵢ², so ∇f = a ⊙ w. */
const A = [1, 2];
const quadratic = (p: Param): number => p.value.reduce((s, w, i) => s + 0.5 * A[i]! * w * w, 0);
const setGrad = (p: Param): void => p.value.forEach((w, i) => (p.grad[i] = A[i]! * w));

/** A [1, 2] matrix param (rank 2: weight decay applies) starting at [1, −2]. */
const matrixParam = (): Param => makeParam('kernel', [1, 2], Float32Array.from([1, -2]));

function run(opt: Optimizer, p: Param, steps: number, lr: number): number[][] {
  const trace: number[][] = [];
  for (let s = 0; s < steps; s++) {
    setGrad(p);
    opt.step([p], lr);
    trace.push(Array.from(p.value));
  }
  return trace;
}

/** Three steps with fixed gradients that are not proportional to w. */
const FIXED_GRADS = [[0.5, 0.3], [-0.2, 0.4], [0.1, -0.1]];
function runFixed(opt: Optimizer, p: Param, lr: number): number[][] {
  return FIXED_GRADS.map((g) => {
    p.grad.set(g);
    opt.step([p], lr);
    return Array.from(p.value);
  });
}

const expectClose = (actual: number[], expected: number[], digits = 6): void =>
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, digits));

describe('optimizers: first steps on a quadratic, by hand', () => {
  it('sgd: w −= lr·g, and the gradient is zeroed after the step', () => {
    const p = matrixParam();
    const [s1] = run(sgd(), p, 1, 0.1);
    expectClose(s1!, [0.9, -1.6]);
    expect(Array.from(p.grad)).toEqual([0, 0]);
  });

  it('sgd with weight decay adds wd·w to the gradient', () => {
    const [s1] = run(sgd(0.5), matrixParam(), 1, 0.1);
    // g + 0.5w = [1.5, −5]
    expectClose(s1!, [0.85, -1.5]);
  });

  it('momentum: v = μv + g; w −= lr·v', () => {
    const [s1, s2] = run(momentum(0.9), matrixParam(), 2, 0.1);
    expectClose(s1!, [0.9, -1.6]);
    // g2 = [0.9, −3.2]; v2 = 0.9·[1, −4] + g2 = [1.8, −6.8]
    expectClose(s2!, [0.72, -0.92]);
  });

  it('nesterov: w −= lr·(g + μv)', () => {
    const [s1, s2] = run(momentum(0.9, { nesterov: true }), matrixParam(), 2, 0.1);
    // v1 = g1 = [1, −4]; step = 1.9·g1
    expectClose(s1!, [0.81, -1.24]);
    // g2 = [0.81, −2.48]; v2 = 0.9·v1 + g2 = [1.71, −6.08]; step = g2 + 0.9·v2 = [2.349, −7.952]
    expectClose(s2!, [0.5751, -0.4448]);
  });

  it('adamw: bias-corrected moments and decoupled weight decay', () => {
    const [s1, s2] = run(adamw({ weightDecay: 0.1 }), matrixParam(), 2, 0.1);
    // step 1: m̂ = g, v̂ = g², so the Adam part is sign(g); decay adds lr·wd·w outside the normalization:
    // [1 − 0.1·(1 + 0.1), −2 − 0.1·(−1 − 0.2)]. (Coupled L2 would give sign(g + wd·w) = [0.9, −1.9].)
    expectClose(s1!, [0.89, -1.88]);
    // step 2 (hand-computed in float64): m = [0.179, −0.736], v = [0.0017911, 0.0301216], t = 2
    expectClose(s2!, [0.781571857, -1.76140895], 5);
  });

  it('adamw leaves rank-1 params (biases) undecayed unless asked', () => {
    const bias = makeParam('bias', [2], Float32Array.from([1, -2]));
    expectClose(run(adamw({ weightDecay: 0.1 }), bias, 1, 0.1)[0]!, [0.9, -1.9]);
    const decayed = makeParam('bias', [2], Float32Array.from([1, -2]));
    expectClose(run(adamw({ weightDecay: 0.1, decayVectors: true }), decayed, 1, 0.1)[0]!, [0.89, -1.88]);
  });

  it('rmsprop: v = αv + (1−α)g²; w −= lr·g/(√v + ε)', () => {
    const [s1, s2] = run(rmsprop(), matrixParam(), 2, 0.01);
    // step 1: √v = 0.1|g| so the step is 10·lr·sign(g)
    expectClose(s1!, [0.9, -1.9]);
    // step 2, w0: g = 0.9, v = 0.99·0.01 + 0.01·0.81 = 0.018, w = 0.9 − 0.01·0.9/√0.018
    expectClose(s2!, [0.832917975, -1.830943329]);
  });

  it('adamw with gradients not proportional to w: the decay stays out of the moments (no coupled L2)', () => {
    // With g ∝ w (the quadratic above) a coupled L2 term only rescales g and Adam's normalization hides it; with
    // fixed gradients the moments see g alone. Reference hand-computed in float64:
    // m = β1m + (1−β1)g, v = β2v + (1−β2)g², w −= lr·(m/(1−β1ᵗ) / (√(v/(1−β2ᵗ)) + ε) + wd·w).
    const trace = runFixed(adamw({ weightDecay: 0.1 }), matrixParam(), 0.1);
    expectClose(trace[0]!, [0.89, -2.08], 5);
    expectClose(trace[1]!, [0.846539418, -2.158932282], 5);
    expectClose(trace[2]!, [0.800134847, -2.200400861], 5);
    // A coupled L2 term (g + wd·w inside the moments) would give [0.763357693, −2.124264575] after step 3.
  });

  it('momentum with dampening: v = μv + (1−d)·g', () => {
    const trace = runFixed(momentum(0.9, { dampening: 0.5 }), matrixParam(), 0.1);
    // v1 = 0.5·g1 = [0.25, 0.15]; v2 = 0.9·v1 + 0.5·g2 = [0.125, 0.335]; v3 = [0.1625, 0.2515]
    expectClose(trace[0]!, [0.975, -2.015]);
    expectClose(trace[1]!, [0.9625, -2.0485]);
    expectClose(trace[2]!, [0.94625, -2.07365]);
    // createOptimizer passes dampening through
    expectClose(runFixed(createOptimizer({ name: 'momentum', momentum: 0.9, dampening: 0.5 }), matrixParam(), 0.1)[2]!, [0.94625, -2.07365]);
  });

  it('rmsprop with momentum: buf = μ·buf + g/(√v + ε), w −= lr·buf', () => {
    const trace = runFixed(rmsprop({ alpha: 0.9, momentum: 0.5 }), matrixParam(), 0.1);
    // step 1: √v = √0.1·|g| so buf = sign(g)·√10; later steps by hand in float64
    expectClose(trace[0]!, [1 - 0.1 * Math.sqrt(10), -2 - 0.1 * Math.sqrt(10)], 5);
    expectClose(trace[1]!, [0.648517397, -2.732004233], 5);
    expectClose(trace[2]!, [0.567453824, -2.873505532], 5);
  });

  it('keeps state per param, across rebuilt Param wrappers', () => {
    const a = matrixParam();
    const b = makeParam('other', [1, 2], Float32Array.from([1, -2]));
    const opt = momentum(0.9);
    setGrad(a);
    opt.step(prefixParams('L0', [a]), 0.1);
    setGrad(a);
    opt.step(prefixParams('L0', [a]), 0.1); // new wrapper, same arrays: velocity must carry over
    expectClose(Array.from(a.value), [0.72, -0.92]);
    // b gets its first step: no velocity from a
    setGrad(b);
    opt.step([b], 0.1);
    expectClose(Array.from(b.value), [0.9, -1.6]);
    opt.reset();
    setGrad(a);
    opt.step([a], 0.1);
    expectClose(Array.from(a.value), [0.72 - 0.1 * 0.72, -0.92 + 0.1 * 1.84]);
  });
});

describe('optimizers converge', () => {
  for (const [name, lr] of [['sgd', 0.1], ['momentum', 0.05], ['nesterov', 0.05], ['adamw', 0.05], ['rmsprop', 0.01]] as const) {
    it(`${name} minimizes the quadratic`, () => {
      const p = matrixParam();
      const opt = createOptimizer({ name, weightDecay: 0 });
      expect(opt.name).toBe(name);
      run(opt, p, 300, lr);
      expect(quadratic(p)).toBeLessThan(1e-3 * 4.5);
    });
  }

  it('unknown names and out-of-range settings are config errors', () => {
    expect(() => createOptimizer('lion' as never)).toThrow(/unknown optimizer "lion"/);
    expect(() => createOptimizer({ name: 'adamw', beta1: 1.5 })).toThrow(/LOOM|beta1/);
    try {
      createOptimizer({ name: 'momentum', momentum: -1 });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('LOOM_ERR_CONFIG');
    }
  });
});
