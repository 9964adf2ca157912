import { sigmoid } from './math.js';

/**
 * Element-wise activations. Each has its value and its derivative with respect to the pre-activation;
 * the derivative is computed from the pre-activation (never from the output: LOOM's Softplus bug came from that).
 */
export const ACTIVATIONS = [
  'scaled_relu',
  'sigmoid',
  'tanh',
  'softplus',
  'leaky_relu',
  'linear',
  'relu',
  'gelu',
  'silu',
] as const;

export type Activation = (typeof ACTIVATIONS)[number];

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

interface ActivationFn {
  f(v: number): number;
  df(v: number): number;
}

// GELU uses the tanh approximation (as tfjs and most ports); its derivative is the exact derivative of that form.
const gelu: ActivationFn = {
  f: (v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))),
  df: (v) => {
    const u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
    const t = Math.tanh(u);
    const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du;
  },
};

export const activationFns: Record<Activation, ActivationFn> = {
  scaled_relu: { f: (v) => (v > 0 ? 1.1 * v : 0), df: (v) => (v > 0 ? 1.1 : 0) },
  sigmoid: { f: sigmoid, df: (v) => { const s = sigmoid(v); return s * (1 - s); } },
  tanh: { f: Math.tanh, df: (v) => { const t = Math.tanh(v); return 1 - t * t; } },
  softplus: { f: (v) => (v > 20 ? v : Math.log1p(Math.exp(v))), df: sigmoid },
  leaky_relu: { f: (v) => (v >= 0 ? v : 0.1 * v), df: (v) => (v >= 0 ? 1 : 0.1) },
  linear: { f: (v) => v, df: () => 1 },
  relu: { f: (v) => (v > 0 ? v : 0), df: (v) => (v > 0 ? 1 : 0) },
  gelu,
  silu: { f: (v) => v * sigmoid(v), df: (v) => { const s = sigmoid(v); return s * (1 + v * (1 - s)); } },
};

export const isActivation = (name: unknown): name is Activation =>
  typeof name === 'string' && (ACTIVATIONS as readonly string[]).includes(name);

/**
 * 1s in every bit where the float32 with bits p is > 0 (+0 < p ≤ +∞), else 0; NaN counts as not > 0, as `v > 0`
 * does. ReLU on random signs mispredicts a branch half the time (about 5 ns an element); these bit masks on Int32
 * views of the same memory take under 1 ns.
 */
const positiveMask = (p: number): number => (Math.imul(p, -1) & ~p & (p - 0x7f800001)) >> 31;
const SIGN = -0x80000000;
const bits = (a: Float32Array): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.length);

/** out[i] = f(pre[i]). ReLU and linear, the common ones, run as plain loops without a call per element. */
export function applyActivation(act: Activation, pre: Float32Array, out: Float32Array): void {
  const n = pre.length;
  if (act === 'linear') {
    if (out !== pre) out.set(pre);
  } else if (act === 'relu') {
    // max(v, 0) to the bit: v where v > 0, else +0
    const p = bits(pre);
    const o = bits(out);
    for (let i = 0; i < n; i++) {
      const v = p[i] as number;
      o[i] = v & positiveMask(v);
    }
  } else {
    const { f } = activationFns[act];
    for (let i = 0; i < n; i++) out[i] = f(pre[i] as number);
  }
}

/** grad[i] *= f'(pre[i]), in place. */
export function multiplyActivationGrad(act: Activation, pre: Float32Array, grad: Float32Array): void {
  activationGradInto(act, pre, grad, grad);
}

/** out[i] = dy[i]·f'(pre[i]); out may be dy. ReLU: dy where pre > 0, else dy's signed zero (dy·0 for finite dy). */
export function activationGradInto(act: Activation, pre: Float32Array, dy: Float32Array, out: Float32Array): void {
  const n = dy.length;
  if (act === 'linear') {
    if (out !== dy) out.set(dy);
  } else if (act === 'relu') {
    const p = bits(pre);
    const g = bits(dy);
    const o = bits(out);
    for (let i = 0; i < n; i++) o[i] = (g[i] as number) & (positiveMask(p[i] as number) | SIGN);
  } else {
    const { df } = activationFns[act];
    for (let i = 0; i < n; i++) out[i] = (dy[i] as number) * df(pre[i] as number);
  }
}
