/**
 * The kernel seam. Layers never loop over big products themselves: they call these kernels, so a backend
 * (plain JS, WebAssembly SIMD, WebGPU) can be swapped without touching layer code. All arrays are row-major
 * float32; offsets let a kernel work on a slice of a larger buffer without copying.
 */
import type { Activation } from '../activations.js';

/** C[m×n] = op(A)·op(B) (+ C when accumulate). op(A) is m×k: A is m×k, or k×m when transA. op(B) is k×n: B is k×n, or n×k when transB. */
export interface MatmulArgs {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
}

/** NCHW convolution with zero padding. w is [outC][inC][kH][kW]; bias is [outC]; y is [batch][outC][outH][outW]. */
export interface Conv2dArgs {
  x: Float32Array;
  w: Float32Array;
  bias: Float32Array;
  y: Float32Array;
  batch: number;
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  outH: number;
  outW: number;
}

/** Gradients of Conv2d: dx is overwritten; dw and db are accumulated (+=). */
export interface Conv2dBackwardArgs extends Omit<Conv2dArgs, 'y'> {
  dy: Float32Array;
  /** dL/dx, overwritten; left as it is when inputGrad is false (a network's first layer: nothing reads it). */
  dx: Float32Array;
  inputGrad?: boolean;
  dw: Float32Array;
  db: Float32Array;
}

/**
 * Scaled dot-product attention over already-projected, already-rotated heads.
 * q: [batch][seqQ][heads·headDim], k and v: [batch][seqK][kvHeads·headDim] (grouped: query head h reads kv head
 * ⌊h / (heads/kvHeads)⌋). probs [batch][heads][seqQ][seqK] is written for backward; out is [batch][seqQ][heads·headDim].
 */
export interface AttentionArgs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  out: Float32Array;
  probs: Float32Array;
  batch: number;
  heads: number;
  kvHeads: number;
  seqQ: number;
  seqK: number;
  headDim: number;
  causal: boolean;
  scale: number;
}

/** Gradients of attention: dq, dk, dv are overwritten. */
export interface AttentionBackwardArgs extends Omit<AttentionArgs, 'out'> {
  dOut: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/**
 * LSTM forward over a whole sequence, gates fused i, f, g, o (layers/lstm.ts): x [batch][seq][inSize], kernel
 * [inSize][4·hidden], recurrent [hidden][4·hidden], bias [4·hidden]. Written, time-major: hs and cs
 * [seq+1][batch][hidden] (step 0 the zero state), gates activated [seq][batch][4·hidden], cellTanh [seq][batch][hidden].
 */
export interface LstmForwardArgs {
  x: Float32Array;
  kernel: Float32Array;
  recurrent: Float32Array;
  bias: Float32Array;
  hs: Float32Array;
  cs: Float32Array;
  gates: Float32Array;
  cellTanh: Float32Array;
  batch: number;
  seq: number;
  inSize: number;
  hidden: number;
}

/**
 * One AdamW step over one parameter, in place (train/optimizers.ts): m = β1m + (1−β1)g, v = β2v + (1−β2)g²,
 * w = w − stepSize·m/(√v·invSqrtC2 + eps) − decay·w, computed in float64 in that order, so every implementation
 * writes exactly the bits the JavaScript loop writes. w, g, m, v have one length; g is only read.
 */
export interface AdamwArgs {
  w: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
  beta1: number;
  beta2: number;
  eps: number;
  stepSize: number;
  invSqrtC2: number;
  decay: number;
}

/**
 * LayerNorm over `rows` rows of `width` floats (layers/layernorm.ts): per row x̂ = (x − mean)/√(variance + epsilon)
 * (population variance), y = γ·x̂ + β. Writes y and xHat [rows·width] and invStd [rows] (1/√(variance + epsilon)).
 */
export interface LayerNormArgs {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  y: Float32Array;
  xHat: Float32Array;
  invStd: Float32Array;
  rows: number;
  width: number;
  epsilon: number;
}

/**
 * 2×2 max pooling of `planes` planes of h×w floats (layers/pool.ts, the conv stems' pooling): y [planes][⌊h/2⌋][⌊w/2⌋]
 * and argmax, the index into x of each window's winner — the first of (0,0), (0,1), (1,0), (1,1) on ties; NaN never
 * displaces a value (a NaN first in its window stays).
 */
export interface MaxPool2x2Args {
  x: Float32Array;
  y: Float32Array;
  argmax: Int32Array;
  planes: number;
  h: number;
  w: number;
}

/** LayerNorm's gradients from the saved xHat and invStd: dx is overwritten, dGamma and dBeta are added to. */
export interface LayerNormBackwardArgs {
  dy: Float32Array;
  xHat: Float32Array;
  invStd: Float32Array;
  gamma: Float32Array;
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
  rows: number;
  width: number;
}

/** out[i] = f(pre[i]) for one of activations.ts's activations (the reference); pre and out of one length, out may be pre. */
export interface ActivationArgs {
  activation: Activation;
  pre: Float32Array;
  out: Float32Array;
}

/** out[i] = dy[i]·f'(pre[i]); pre, dy and out of one length, out may be dy. */
export interface ActivationGradArgs {
  activation: Activation;
  pre: Float32Array;
  dy: Float32Array;
  out: Float32Array;
}

export interface Backend {
  readonly name: string;
  matmul(args: MatmulArgs): void;
  conv2d(args: Conv2dArgs): void;
  conv2dBackward(args: Conv2dBackwardArgs): void;
  attention(args: AttentionArgs): void;
  attentionBackward(args: AttentionBackwardArgs): void;
  /** A fused LSTM forward; absent: the layer runs its own JS loop (the reference). */
  readonly lstmForward?: (args: LstmForwardArgs) => void;
  /** A fused AdamW step; absent: the optimizer's own JS loop (the reference), which gives the same bits. */
  readonly adamw?: (args: AdamwArgs) => void;
  /** A fused LayerNorm forward and backward; absent: backend/cpu-layernorm.ts's JS loops (the reference), same bits. */
  readonly layerNorm?: (args: LayerNormArgs) => void;
  readonly layerNormBackward?: (args: LayerNormBackwardArgs) => void;
  /** 2×2 max pooling; absent: backend/cpu-pool.ts's loop (the reference), same outputs and winners. */
  readonly maxPool2x2?: (args: MaxPool2x2Args) => void;
  /**
   * Element-wise activations and their gradients; absent: activations.ts's loops (the reference). A backend may run
   * only some activations itself and hand the rest to those loops; its results agree with them to float32 rounding.
   */
  readonly activation?: (args: ActivationArgs) => void;
  readonly activationGrad?: (args: ActivationGradArgs) => void;
}
