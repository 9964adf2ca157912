import { adamwJs } from '../backend/cpu-adamw.js';
import type { Backend } from '../backend/types.js';
import { configError } from '../errors.js';
import type { Param } from '../layers/types.js';

/**
 * Optimizers update every parameter they are given (Network.trainableParams() flattens every layer, nested
 * branches included; LOOM's only touched top-level Dense/Conv2D kernels). State (moments, step counts) is kept
 * per parameter, keyed by the parameter's value array, so the Param wrappers may be rebuilt between steps.
 *
 * Weight decay: AdamW decays decoupled from the gradient (w −= lr·wd·w, not scaled by the adaptive denominator);
 * the other optimizers add wd·w to the gradient (classic L2). Either way only matrices and higher-rank tensors
 * decay by default: biases and norm gains (rank-1 params) are left alone, as LOOM's AdamW left biases alone.
 */
export interface Optimizer {
  readonly name: string;
  /**
   * Updates each param from its gradient with learning rate `lr`, then zeroes the gradient (the Param contract).
   * `backend`: where a fused update runs when it has one (AdamW on cpu-native); the result is the same either way.
   */
  step(params: readonly Param[], lr: number, backend?: Backend): void;
  /** Forgets every moment buffer and step count. */
  reset(): void;
  /** Copies of these params' moment buffers and step counts, in their order: what a paused training resumes from. */
  exportState(params: readonly Param[]): OptimizerState;
  /** Puts back what exportState took from the same params in the same order (refused where a buffer's size differs). */
  importState(params: readonly Param[], state: OptimizerState): void;
}

/** An optimizer's per-parameter buffers (slot name → values; 'step' holds AdamW's step count), one entry per param. */
export interface OptimizerState {
  readonly name: string;
  readonly slots: readonly Readonly<Record<string, Float32Array>>[];
}

export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'nesterov', 'adamw', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface OptimizerSpec {
  readonly name: OptimizerName;
  /** momentum / nesterov / rmsprop: momentum factor μ (default 0.9; rmsprop 0). */
  readonly momentum?: number;
  /** momentum: dampening d of the gradient added to the velocity (default 0). */
  readonly dampening?: number;
  /** adamw: β1, β2 (defaults 0.9, 0.999). */
  readonly beta1?: number;
  readonly beta2?: number;
  /** rmsprop: smoothing α of the squared-gradient average (default 0.99). */
  readonly alpha?: number;
  /** adamw, rmsprop: added to √v (default 1e-8). */
  readonly eps?: number;
  /** Default 0.01 for adamw, 0 for the rest. */
  readonly weightDecay?: number;
  /** Also decay rank-1 params (biases, norm gains). Default false. */
  readonly decayVectors?: boolean;
}

type Update = (w: Float32Array, g: Float32Array, lr: number, state: (slot: string) => Float32Array, decay: number, backend?: Backend) => void;

/** Shared bookkeeping: per-param state slots, the decay mask, zeroing the gradient after the update. */
class BufferedOptimizer implements Optimizer {
  private states = new WeakMap<Float32Array, Map<string, Float32Array>>();

  constructor(
    readonly name: string,
    private readonly weightDecay: number,
    private readonly decayVectors: boolean,
    private readonly update: Update,
  ) {}

  step(params: readonly Param[], lr: number, backend?: Backend): void {
    for (const p of params) {
      let slots = this.states.get(p.value);
      if (!slots) {
        slots = new Map();
        this.states.set(p.value, slots);
      }
      const owned = slots;
      const state = (slot: string): Float32Array => {
        let buf = owned.get(slot);
        if (!buf) {
          buf = new Float32Array(slot === 'step' ? 1 : p.value.length);
          owned.set(slot, buf);
        }
        return buf;
      };
      const decay = p.shape.length >= 2 || this.decayVectors ? this.weightDecay : 0;
      this.update(p.value, p.grad, lr, state, decay, backend);
      p.grad.fill(0);
    }
  }

  reset(): void {
    this.states = new WeakMap();
  }

  exportState(params: readonly Param[]): OptimizerState {
    return {
      name: this.name,
      slots: params.map((p) => Object.fromEntries([...(this.states.get(p.value) ?? new Map<string, Float32Array>())].map(([slot, buf]) => [slot, Float32Array.from(buf)]))),
    };
  }

  importState(params: readonly Param[], state: OptimizerState): void {
    if (state.name !== this.name) throw configError('optimizer', `the saved training state is of ${state.name}, this training uses ${this.name}`);
    if (state.slots.length !== params.length) throw configError('optimizer', `the saved training state has ${state.slots.length} parameters, the network ${params.length}`);
    params.forEach((p, i) => {
      const saved = state.slots[i] ?? {};
      const slots = new Map<string, Float32Array>();
      for (const [slot, buf] of Object.entries(saved)) {
        const expected = slot === 'step' ? 1 : p.value.length;
        if (buf.length !== expected) throw configError('optimizer', `the saved training state's "${slot}" of parameter ${i} (${p.name}) has ${buf.length} values, it needs ${expected}`);
        slots.set(slot, Float32Array.from(buf));
      }
      this.states.set(p.value, slots);
    });
  }
}

function checkRange(field: string, v: number, lo: number, hi: number): number {
  if (!(v >= lo && v <= hi)) throw configError(`optimizer.${field}`, `must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

/** w −= lr·(g + wd·w) */
export function sgd(weightDecay = 0, decayVectors = false): Optimizer {
  return new BufferedOptimizer('sgd', weightDecay, decayVectors, (w, g, lr, _state, wd) => {
    for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) - lr * ((g[i] as number) + wd * (w[i] as number));
  });
}

/** v = μv + (1−d)g;  w −= lr·v, or with Nesterov w −= lr·(g + μv). */
export function momentum(mu = 0.9, opts: { dampening?: number; nesterov?: boolean; weightDecay?: number; decayVectors?: boolean } = {}): Optimizer {
  const d = opts.dampening ?? 0;
  const nesterov = opts.nesterov ?? false;
  return new BufferedOptimizer(nesterov ? 'nesterov' : 'momentum', opts.weightDecay ?? 0, opts.decayVectors ?? false, (w, g, lr, state, wd) => {
    const v = state('velocity');
    for (let i = 0; i < w.length; i++) {
      const gi = (g[i] as number) + wd * (w[i] as number);
      const vi = mu * (v[i] as number) + (1 - d) * gi;
      v[i] = vi;
      w[i] = (w[i] as number) - lr * (nesterov ? gi + mu * vi : vi);
    }
  });
}

/**
 * AdamW with bias correction: m = β1m + (1−β1)g, v = β2v + (1−β2)g², m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ),
 * w −= lr·(m̂/(√v̂ + ε) + wd·w). The step count t is per parameter.
 */
export function adamw(opts: { beta1?: number; beta2?: number; eps?: number; weightDecay?: number; decayVectors?: boolean } = {}): Optimizer {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  return new BufferedOptimizer('adamw', opts.weightDecay ?? 0.01, opts.decayVectors ?? false, (w, g, lr, state, wd, backend) => {
    const stepBuf = state('step');
    const t = (stepBuf[0] as number) + 1;
    stepBuf[0] = t;
    // m̂/(√v̂ + ε) = (m/c1)/(√v/√c2 + ε): constants hoisted so each element costs one division and one sqrt.
    const stepSize = lr / (1 - b1 ** t);
    const invSqrtC2 = 1 / Math.sqrt(1 - b2 ** t);
    // The element loop is backend/cpu-adamw.ts, or the backend's fused copy of it (same bits).
    (backend?.adamw ?? adamwJs)({ w, g, m: state('m'), v: state('v'), beta1: b1, beta2: b2, eps, stepSize, invSqrtC2, decay: lr * wd });
  });
}

/** v = αv + (1−α)g²; w −= lr·g/(√v + ε), or with momentum μ: buf = μ·buf + g/(√v + ε), w −= lr·buf. */
export function rmsprop(opts: { alpha?: number; eps?: number; momentum?: number; weightDecay?: number; decayVectors?: boolean } = {}): Optimizer {
  const alpha = opts.alpha ?? 0.99;
  const eps = opts.eps ?? 1e-8;
  const mu = opts.momentum ?? 0;
  return new BufferedOptimizer('rmsprop', opts.weightDecay ?? 0, opts.decayVectors ?? false, (w, g, lr, state, wd) => {
    const v = state('square_avg');
    const buf = mu > 0 ? state('momentum') : undefined;
    for (let i = 0; i < w.length; i++) {
      const gi = (g[i] as number) + wd * (w[i] as number);
      const vi = alpha * (v[i] as number) + (1 - alpha) * gi * gi;
      v[i] = vi;
      let delta = gi / (Math.sqrt(vi) + eps);
      if (buf) {
        delta = mu * (buf[i] as number) + delta;
        buf[i] = delta;
      }
      w[i] = (w[i] as number) - lr * delta;
    }
  });
}

/** Builds an optimizer from its JSON description (what configs and jobs carry). */
export function createOptimizer(spec: OptimizerSpec | OptimizerName): Optimizer {
  const s: OptimizerSpec = typeof spec === 'string' ? { name: spec } : spec;
  const decayVectors = s.decayVectors ?? false;
  if (s.weightDecay !== undefined) checkRange('weightDecay', s.weightDecay, 0, 1);
  switch (s.name) {
    case 'sgd':
      return sgd(s.weightDecay ?? 0, decayVectors);
    case 'momentum':
    case 'nesterov':
      return momentum(checkRange('momentum', s.momentum ?? 0.9, 0, 1), {
        dampening: checkRange('dampening', s.dampening ?? 0, 0, 1),
        nesterov: s.name === 'nesterov',
        ...(s.weightDecay !== undefined ? { weightDecay: s.weightDecay } : {}),
        decayVectors,
      });
    case 'adamw':
      return adamw({
        beta1: checkRange('beta1', s.beta1 ?? 0.9, 0, 0.999999),
        beta2: checkRange('beta2', s.beta2 ?? 0.999, 0, 0.999999),
        eps: s.eps ?? 1e-8,
        ...(s.weightDecay !== undefined ? { weightDecay: s.weightDecay } : {}),
        decayVectors,
      });
    case 'rmsprop':
      return rmsprop({
        alpha: checkRange('alpha', s.alpha ?? 0.99, 0, 1),
        eps: s.eps ?? 1e-8,
        momentum: checkRange('momentum', s.momentum ?? 0, 0, 1),
        ...(s.weightDecay !== undefined ? { weightDecay: s.weightDecay } : {}),
        decayVectors,
      });
    default:
      throw configError('optimizer', `unknown optimizer "${String((s as { name: unknown }).name)}" (known: ${OPTIMIZER_NAMES.join(', ')})`);
  }
}
