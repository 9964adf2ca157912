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

/** 2^k for integer k in [-POW2_BIAS, POW2_BIAS], exact (subnormals included; 0 and ∞ beyond the float64 range). */
const POW2_BIAS = 1100;
const POW2 = Float64Array.from({ length: 2 * POW2_BIAS + 1 }, (_, i) => 2 ** (i - POW2_BIAS));
const LN2_HI = 0.6931471803691238; // ln 2 split in two (Cody-Waite), so k·LN2_HI is exact for the k used here
const LN2_LO = 1.9082149292705877e-10;

/**
 * e^x to about 5e-9 relative error, several times faster than V8's Math.exp in the activation loops: x = k·ln2 + r
 * with |r| ≤ ln2/2, a degree-8 Taylor polynomial for e^r (remainder below r⁹/9! ≈ 2e-10 there), and 2^k from a
 * table. Float32 outputs round to the same value as with Math.exp except in rare last-bit ties.
 */
function fastExp(x: number): number {
  if (!(x > -745.2)) return x === x ? 0 : NaN;
  if (x > 709.7) return Infinity;
  const k = Math.round(x * Math.LOG2E);
  const r = x - k * LN2_HI - k * LN2_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (1 / 40320))))))));
  return p * (POW2[k + POW2_BIAS] as number);
}

interface ActivationFn {
  f(v: number): number;
  df(v: number): number;
}

// GELU uses the tanh approximation (as tfjs and most ports), written as v·σ(2u) since 0.5·(1 + tanh u) = σ(2u), with
// u = √(2/π)·(v + 0.044715·v³): one exp instead of Math.tanh, and no cancellation in 1 + tanh u for negative v. Its
// derivative is the exact derivative of that form. These four functions are the definitions: the activation table,
// the loops below (direct calls, which V8 inlines) and the native kernels all compute exactly these.
const geluExp = (v: number): number => fastExp(-2 * SQRT_2_OVER_PI * (v + 0.044715 * v * v * v));
const geluValue = (v: number): number => v / (1 + geluExp(v));
function geluSlope(v: number): number {
  const s = 1 / (1 + geluExp(v));
  return s + 2 * v * s * (1 - s) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
}
const siluValue = (v: number): number => v / (1 + fastExp(-v));
function siluSlope(v: number): number {
  const s = 1 / (1 + fastExp(-v));
  return s * (1 + v * (1 - s));
}

export const activationFns: Record<Activation, ActivationFn> = {
  scaled_relu: { f: (v) => (v > 0 ? 1.1 * v : 0), df: (v) => (v > 0 ? 1.1 : 0) },
  sigmoid: { f: sigmoid, df: (v) => { const s = sigmoid(v); return s * (1 - s); } },
  tanh: { f: Math.tanh, df: (v) => { const t = Math.tanh(v); return 1 - t * t; } },
  softplus: { f: (v) => (v > 20 ? v : Math.log1p(Math.exp(v))), df: sigmoid },
  leaky_relu: { f: (v) => (v >= 0 ? v : 0.1 * v), df: (v) => (v >= 0 ? 1 : 0.1) },
  linear: { f: (v) => v, df: () => 1 },
  relu: { f: (v) => (v > 0 ? v : 0), df: (v) => (v > 0 ? 1 : 0) },
  gelu: { f: geluValue, df: geluSlope },
  silu: { f: siluValue, df: siluSlope },
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
  } else if (act === 'gelu') geluForward(pre, out);
  else if (act === 'silu') siluForward(pre, out);
  else {
    const { f } = activationFns[act];
    for (let i = 0; i < n; i++) out[i] = f(pre[i] as number);
  }
}

/** The element-wise kernels a backend may offer (backend/types.ts: Backend.activation/activationGrad, optional). */
export interface ActivationKernels {
  readonly activation?: (args: { activation: Activation; pre: Float32Array; out: Float32Array }) => void;
  readonly activationGrad?: (args: { activation: Activation; pre: Float32Array; dy: Float32Array; out: Float32Array }) => void;
}

/** out[i] = f(pre[i]) with the backend's kernel when it has one, else the loops here (the reference). */
export function activate(kernels: ActivationKernels, act: Activation, pre: Float32Array, out: Float32Array): void {
  if (kernels.activation) kernels.activation({ activation: act, pre, out });
  else applyActivation(act, pre, out);
}

/** out[i] = dy[i]·f'(pre[i]) with the backend's kernel when it has one; out may be dy. */
export function activateGrad(kernels: ActivationKernels, act: Activation, pre: Float32Array, dy: Float32Array, out: Float32Array): void {
  if (kernels.activationGrad) kernels.activationGrad({ activation: act, pre, dy, out });
  else activationGradInto(act, pre, dy, out);
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
  } else if (act === 'gelu') geluGrad(pre, dy, out);
  else if (act === 'silu') siluGrad(pre, dy, out);
  else {
    const { df } = activationFns[act];
    for (let i = 0; i < n; i++) out[i] = (dy[i] as number) * df(pre[i] as number);
  }
}

// GELU and SiLU get loops of their own: a direct call per element (inlined), not one through the table.
function geluForward(pre: Float32Array, out: Float32Array): void {
  for (let i = 0; i < pre.length; i++) out[i] = geluValue(pre[i] as number);
}

function geluGrad(pre: Float32Array, dy: Float32Array, out: Float32Array): void {
  for (let i = 0; i < dy.length; i++) out[i] = (dy[i] as number) * geluSlope(pre[i] as number);
}

function siluForward(pre: Float32Array, out: Float32Array): void {
  for (let i = 0; i < pre.length; i++) out[i] = siluValue(pre[i] as number);
}

function siluGrad(pre: Float32Array, dy: Float32Array, out: Float32Array): void {
  for (let i = 0; i < dy.length; i++) out[i] = (dy[i] as number) * siluSlope(pre[i] as number);
}
