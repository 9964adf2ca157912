import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { activationGradInto, applyActivation, type Activation } from '../activations.js';
import { LoomError } from '../errors.js';
import { adamwJs } from './cpu-adamw.js';
import { matmulJs } from './cpu-matmul.js';
import { convLoopsJs, makeConv2d, makeConv2dBackward, type Conv2dGeometry, type ConvLoops } from './cpu-conv2d.js';
import { attentionBackwardWasm, attentionWasm, checkedAttentionSizes, needAttention } from './cpu-wasm-attention.js';
import { checkLstmArgs, makeLstmForward } from './cpu-wasm-lstm.js';
import { checkLength, matmulWasm, SMALL_PRODUCT } from './cpu-wasm.js';
import { layerNormBackwardJs, layerNormJs } from './cpu-layernorm.js';
import { maxPool2x2Js } from './cpu-pool.js';
import type {
  ActivationArgs, ActivationGradArgs, AdamwArgs, AttentionArgs, AttentionBackwardArgs, Backend, LayerNormArgs, LayerNormBackwardArgs, LstmForwardArgs, MatmulArgs, MaxPool2x2Args,
} from './types.js';

/**
 * The native backend: matmul (and the convolutions built on it, with their unrolling), the fused LSTM forward, the attention core, the
 * AdamW step, LayerNorm and the GELU and SiLU activations through an optional Node-API addon with AVX2 + FMA kernels
 * (native/loom_native.c, built at install by scripts/build-native.mjs into build/native/). WebAssembly's 128-bit
 * SIMD has no fused multiply-add on Node 20 and half AVX2's width, which caps its matmul near half of one core's
 * peak. The addon works on the caller's arrays in place: no copies in or out. Never loaded outside Node (the
 * browser build), nor where the addon is missing or the CPU lacks AVX2/FMA; index.ts then falls back to cpu-wasm
 * with a one-line notice.
 */
export const NATIVE_PATH = fileURLToPath(new URL('../../../build/native/loom_native.node', import.meta.url));

/** What the addon exports (native/loom_native.c). */
interface Addon {
  /** flags: bit 0 transA, bit 1 transB, bit 2 accumulate. */
  sgemm(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, c: Float32Array, cOffset: number, m: number, n: number, k: number, flags: number): void;
  lstmForward(
    x: Float32Array, kernel: Float32Array, recurrent: Float32Array, bias: Float32Array, hs: Float32Array, cs: Float32Array, gates: Float32Array, cellTanh: Float32Array,
    batch: number, seq: number, inSize: number, hidden: number,
  ): void;
  attention(
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, probs: Float32Array,
    batch: number, heads: number, kvHeads: number, seqQ: number, seqK: number, headDim: number, causal: number, scale: number,
  ): void;
  attentionBackward(
    q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array, dOut: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array,
    batch: number, heads: number, kvHeads: number, seqQ: number, seqK: number, headDim: number, scale: number,
  ): void;
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, beta1: number, beta2: number, eps: number, stepSize: number, invSqrtC2: number, decay: number): void;
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, xHat: Float32Array, invStd: Float32Array, rows: number, width: number, epsilon: number): void;
  layerNormBackward(
    dy: Float32Array, xHat: Float32Array, invStd: Float32Array, gamma: Float32Array, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array, rows: number, width: number,
  ): void;
  /** kind: NATIVE_ACTIVATIONS's number. pre, dy and out of one length; out may alias pre or dy. */
  activation(pre: Float32Array, out: Float32Array, kind: number): void;
  activationGrad(pre: Float32Array, dy: Float32Array, out: Float32Array, kind: number): void;
  maxPool2x2(x: Float32Array, y: Float32Array, argmax: Int32Array, planes: number, h: number, w: number): void;
  /** One sample's unrolling and its adjoint (backend/cpu-conv2d.ts's loops); geometry inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW. */
  im2col(x: Float32Array, cols: Float32Array, xOffset: number, ...geometry: number[]): void;
  col2imAdd(cols: Float32Array, dx: Float32Array, dxOffset: number, ...geometry: number[]): void;
  biasGradAdd(dy: Float32Array, db: Float32Array, dyOffset: number, channels: number, positions: number): void;
  supported(): boolean;
}

/** An exported function of the module, bound to it; null when the export is missing or not a function. */
function method(mod: object, name: string): ((...args: unknown[]) => unknown) | null {
  const f: unknown = Reflect.get(mod, name);
  return typeof f === 'function' ? (...args) => Reflect.apply(f, mod, args) : null;
}

/** The loaded module as an Addon, or why it is not one. */
function parseAddon(mod: unknown): Addon | string {
  if (typeof mod !== 'object' || mod === null) return 'the module exports nothing';
  const sgemm = method(mod, 'sgemm');
  const lstmForward = method(mod, 'lstmForward');
  const attention = method(mod, 'attention');
  const attentionBackward = method(mod, 'attentionBackward');
  const adamw = method(mod, 'adamw');
  const layerNorm = method(mod, 'layerNorm');
  const layerNormBackward = method(mod, 'layerNormBackward');
  const activation = method(mod, 'activation');
  const activationGrad = method(mod, 'activationGrad');
  const maxPool2x2 = method(mod, 'maxPool2x2');
  const im2col = method(mod, 'im2col');
  const col2imAdd = method(mod, 'col2imAdd');
  const biasGradAdd = method(mod, 'biasGradAdd');
  const supported = method(mod, 'supported');
  if (!sgemm || !lstmForward || !attention || !attentionBackward || !adamw || !layerNorm || !layerNormBackward || !activation || !activationGrad || !maxPool2x2 || !im2col || !col2imAdd || !biasGradAdd || !supported) {
    return 'the module lacks one of sgemm, lstmForward, attention, attentionBackward, adamw, layerNorm, layerNormBackward, activation, activationGrad, maxPool2x2, im2col, col2imAdd, biasGradAdd, supported (an addon from an older Loom: rebuild it)';
  }
  return {
    sgemm: (...args) => void sgemm(...args),
    lstmForward: (...args) => void lstmForward(...args),
    attention: (...args) => void attention(...args),
    attentionBackward: (...args) => void attentionBackward(...args),
    adamw: (...args) => void adamw(...args),
    layerNorm: (...args) => void layerNorm(...args),
    layerNormBackward: (...args) => void layerNormBackward(...args),
    activation: (...args) => void activation(...args),
    activationGrad: (...args) => void activationGrad(...args),
    maxPool2x2: (...args) => void maxPool2x2(...args),
    im2col: (...args) => void im2col(...args),
    col2imAdd: (...args) => void col2imAdd(...args),
    biasGradAdd: (...args) => void biasGradAdd(...args),
    supported: () => supported() === true,
  };
}

/** Whether this is Node (the browser bundle defines a stub `process` without `versions`). */
const inNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

let addon: Addon | null | undefined;
let error = '';

function load(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (!inNode()) {
    error = 'not running in Node';
    return null;
  }
  if (!existsSync(NATIVE_PATH)) {
    error = `${NATIVE_PATH} is missing (built by \`npm install\` / \`node scripts/build-native.mjs\`, which needs a C compiler)`;
    return null;
  }
  try {
    const parsed = parseAddon(createRequire(import.meta.url)(NATIVE_PATH));
    if (typeof parsed === 'string') error = `${NATIVE_PATH}: ${parsed}`;
    else if (!parsed.supported()) error = 'this CPU lacks AVX2/FMA';
    else addon = parsed;
  } catch (err) {
    error = `${NATIVE_PATH} failed to load: ${(err as Error).message}`;
  }
  return addon;
}

export const nativeAvailable = (): boolean => load() !== null;
/** Why the addon did not load ('' when it did). */
export const nativeLoadError = (): string => (nativeAvailable() ? '' : error);
/** Whether a missing addon deserves a notice: in a browser there is never one to load. */
export const nativeExpected = (): boolean => inNode();

/** matmul through the addon: in place, no copies; trivial products stay in JS, and without the addon cpu-wasm's. */
export function matmulNative(args: MatmulArgs): void {
  const native = load();
  if (native === null) {
    matmulWasm(args);
    return;
  }
  const { a, b, c, m, n, k } = args;
  if (m * n * k <= SMALL_PRODUCT) {
    matmulJs(args);
    return;
  }
  const ao = args.aOffset ?? 0;
  const bo = args.bOffset ?? 0;
  const co = args.cOffset ?? 0;
  checkLength('a', a, ao, m * k);
  checkLength('b', b, bo, k * n);
  checkLength('c', c, co, m * n);
  const flags = (args.transA ? 1 : 0) | (args.transB ? 2 : 0) | (args.accumulate ? 4 : 0);
  native.sgemm(a, ao, b, bo, c, co, m, n, k, flags);
}

/** The addon's matmul itself, for tests and the bench; throws when it does not load here. */
export function matmulNativeStrict(): (args: MatmulArgs) => void {
  if (load() === null) throw new LoomError('LOOM_ERR_BACKEND', `native kernel unavailable: ${error}`);
  return matmulNative;
}

const lstmForwardWasm = makeLstmForward(matmulNative);

/** The fused LSTM forward: native where hidden is a multiple of 8 (its vector width), else cpu-wasm's. */
export function lstmForwardNative(args: LstmForwardArgs): void {
  const native = load();
  if (native === null || args.hidden % 8 !== 0) {
    lstmForwardWasm(args);
    return;
  }
  checkLstmArgs(args);
  const { batch, seq, inSize, hidden } = args;
  native.lstmForward(args.x, args.kernel, args.recurrent, args.bias, args.hs, args.cs, args.gates, args.cellTanh, batch, seq, inSize, hidden);
}

/** The attention core in the addon, in place (no copies); cpu-wasm's without it. */
export function attentionNative(args: AttentionArgs): void {
  const native = load();
  if (native === null) {
    attentionWasm(args);
    return;
  }
  const { qLen } = checkedAttentionSizes(args);
  needAttention('out', args.out, qLen);
  const { batch, heads, kvHeads, seqQ, seqK, headDim, causal, scale } = args;
  native.attention(args.q, args.k, args.v, args.out, args.probs, batch, heads, kvHeads, seqQ, seqK, headDim, causal ? 1 : 0, scale);
}

/** Gradients of attentionNative, in place; cpu-wasm's without the addon. */
export function attentionBackwardNative(args: AttentionBackwardArgs): void {
  const native = load();
  if (native === null) {
    attentionBackwardWasm(args);
    return;
  }
  const { qLen, kvLen } = checkedAttentionSizes(args);
  needAttention('dOut', args.dOut, qLen);
  needAttention('dq', args.dq, qLen);
  needAttention('dk', args.dk, kvLen);
  needAttention('dv', args.dv, kvLen);
  const { batch, heads, kvHeads, seqQ, seqK, headDim, scale } = args;
  native.attentionBackward(args.q, args.k, args.v, args.probs, args.dOut, args.dq, args.dk, args.dv, batch, heads, kvHeads, seqQ, seqK, headDim, scale);
}

/** The fused AdamW step; bit for bit the optimizer's JS loop, which it falls back to without the addon. */
export function adamwNative(args: AdamwArgs): void {
  const native = load();
  const { w, g, m, v } = args;
  if (g.length !== w.length || m.length !== w.length || v.length !== w.length) {
    throw new LoomError('LOOM_ERR_BACKEND', `adamw: w, g, m, v hold ${w.length}, ${g.length}, ${m.length}, ${v.length} values; they must match`);
  }
  if (native === null) adamwJs(args);
  else native.adamw(w, g, m, v, args.beta1, args.beta2, args.eps, args.stepSize, args.invSqrtC2, args.decay);
}

/** LayerNorm forward in the addon (bit for bit backend/cpu-layernorm.ts's loop, which it falls back to without it). */
export function layerNormNative(args: LayerNormArgs): void {
  const native = load();
  if (native === null) {
    layerNormJs(args);
    return;
  }
  const { rows, width } = args;
  const n = rows * width;
  needFloats('layerNorm', 'x', args.x, n);
  needFloats('layerNorm', 'y', args.y, n);
  needFloats('layerNorm', 'xHat', args.xHat, n);
  needFloats('layerNorm', 'invStd', args.invStd, rows);
  needFloats('layerNorm', 'gamma', args.gamma, width);
  needFloats('layerNorm', 'beta', args.beta, width);
  native.layerNorm(args.x, args.gamma, args.beta, args.y, args.xHat, args.invStd, rows, width, args.epsilon);
}

/** LayerNorm backward in the addon; the same bits as the JS loop it falls back to. */
export function layerNormBackwardNative(args: LayerNormBackwardArgs): void {
  const native = load();
  if (native === null) {
    layerNormBackwardJs(args);
    return;
  }
  const { rows, width } = args;
  const n = rows * width;
  needFloats('layerNormBackward', 'dy', args.dy, n);
  needFloats('layerNormBackward', 'xHat', args.xHat, n);
  needFloats('layerNormBackward', 'dx', args.dx, n);
  needFloats('layerNormBackward', 'invStd', args.invStd, rows);
  needFloats('layerNormBackward', 'gamma', args.gamma, width);
  needFloats('layerNormBackward', 'dGamma', args.dGamma, width);
  needFloats('layerNormBackward', 'dBeta', args.dBeta, width);
  native.layerNormBackward(args.dy, args.xHat, args.invStd, args.gamma, args.dx, args.dGamma, args.dBeta, rows, width);
}

/** The activations the addon runs, by its kind number (native/loom_native.c); the rest stay in activations.ts. */
const NATIVE_ACTIVATIONS: Partial<Record<Activation, number>> = { gelu: 0, silu: 1 };

/** An activation in the addon where it has one (to float32 rounding of activations.ts's loop), else that loop. */
export function activationNative({ activation, pre, out }: ActivationArgs): void {
  const native = load();
  const kind = NATIVE_ACTIVATIONS[activation];
  if (native === null || kind === undefined) {
    applyActivation(activation, pre, out);
    return;
  }
  if (out.length !== pre.length) throw new LoomError('LOOM_ERR_BACKEND', `activation: pre holds ${pre.length} values, out ${out.length}; they must match`);
  native.activation(pre, out, kind);
}

/** out = dy·f'(pre) in the addon where it has the activation, else activations.ts's loop. */
export function activationGradNative({ activation, pre, dy, out }: ActivationGradArgs): void {
  const native = load();
  const kind = NATIVE_ACTIVATIONS[activation];
  if (native === null || kind === undefined) {
    activationGradInto(activation, pre, dy, out);
    return;
  }
  if (pre.length !== dy.length || out.length !== dy.length) {
    throw new LoomError('LOOM_ERR_BACKEND', `activationGrad: pre, dy, out hold ${pre.length}, ${dy.length}, ${out.length} values; they must match`);
  }
  native.activationGrad(pre, dy, out, kind);
}

/** 2×2 max pooling in the addon (same outputs and winners as backend/cpu-pool.ts's loop), else that loop. */
export function maxPool2x2Native(args: MaxPool2x2Args): void {
  const native = load();
  if (native === null) {
    maxPool2x2Js(args);
    return;
  }
  native.maxPool2x2(args.x, args.y, args.argmax, args.planes, args.h, args.w);
}

/** Throws, naming the array, when it holds fewer than n floats (the addon reads raw memory). */
function needFloats(where: string, name: string, a: Float32Array, n: number): void {
  if (!Number.isInteger(n) || n < 0 || a.length < n) throw new LoomError('LOOM_ERR_BACKEND', `${where}: ${name} holds ${a.length} values, needs ${n}`);
}

const geometryOf = (g: Conv2dGeometry): number[] => [g.inC, g.inH, g.inW, g.kH, g.kW, g.strideH, g.strideW, g.padH, g.padW, g.outH, g.outW];

/** A convolution's unrolling and bias gradient in the addon (its checks guard memory; cpu-conv2d.ts checks first), else the JS loops. */
export const convLoopsNative: ConvLoops = {
  im2col(x, xOffset, g, cols) {
    const native = load();
    if (native === null) convLoopsJs.im2col(x, xOffset, g, cols);
    else native.im2col(x, cols, xOffset, ...geometryOf(g));
  },
  col2imAdd(cols, g, dx, dxOffset) {
    const native = load();
    if (native === null) convLoopsJs.col2imAdd(cols, g, dx, dxOffset);
    else native.col2imAdd(cols, dx, dxOffset, ...geometryOf(g));
  },
  biasGradAdd(dy, dyOffset, db, channels, positions) {
    const native = load();
    if (native === null) convLoopsJs.biasGradAdd(dy, dyOffset, db, channels, positions);
    else native.biasGradAdd(dy, db, dyOffset, channels, positions);
  },
};

export const cpuNativeBackend: Backend = {
  name: 'cpu-native',
  matmul: matmulNative,
  conv2d: makeConv2d(matmulNative, convLoopsNative),
  conv2dBackward: makeConv2dBackward(matmulNative, convLoopsNative),
  attention: attentionNative,
  attentionBackward: attentionBackwardNative,
  lstmForward: lstmForwardNative,
  adamw: adamwNative,
  layerNorm: layerNormNative,
  layerNormBackward: layerNormBackwardNative,
  activation: activationNative,
  activationGrad: activationGradNative,
  maxPool2x2: maxPool2x2Native,
};
