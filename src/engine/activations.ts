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

/** out[i] = f(pre[i]). */
export function applyActivation(act: Activation, pre: Float32Array, out: Float32Array): void {
  if (act === 'linear') {
    if (out !== pre) out.set(pre);
    return;
  }
  const { f } = activationFns[act];
  for (let i = 0; i < pre.length; i++) out[i] = f(pre[i] as number);
}

/** grad[i] *= f'(pre[i]), in place. */
export function multiplyActivationGrad(act: Activation, pre: Float32Array, grad: Float32Array): void {
  if (act === 'linear') return;
  const { df } = activationFns[act];
  for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] as number) * df(pre[i] as number);
}
