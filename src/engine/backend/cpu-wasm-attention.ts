import { LoomError } from '../errors.js';
import { attentionBackwardJs, attentionJs } from './cpu-attention.js';
import type { AttentionArgs, AttentionBackwardArgs } from './types.js';
import { align, loadError, loadWasm, WASM_VARIANTS, type WasmModule, type WasmVariant } from './wasm-loader.js';

/**
 * The attention core (assembly/attention.ts) over every batch and head in one call: q, k, v (and for backward
 * probs and dOut) are copied into the module's memory, the results copied out. Plain JS (cpu-attention.ts, the
 * reference) when the module is not built.
 */
interface Kernel {
  mod: WasmModule;
  forward: (...args: number[]) => number | undefined;
  backward: (...args: number[]) => number | undefined;
}

const kernels = new Map<WasmVariant, Kernel | null>();

function loadVariant(variant: WasmVariant): Kernel | null {
  const known = kernels.get(variant);
  if (known !== undefined) return known;
  const mod = loadWasm('attention', variant);
  const kern = mod ? { mod, forward: mod.fn('attention'), backward: mod.fn('attentionBackward') } : null;
  kernels.set(variant, kern);
  return kern;
}

const preferred = (): Kernel | null => {
  for (const v of WASM_VARIANTS) {
    const k = loadVariant(v);
    if (k) return k;
  }
  return null;
};

/** The attention variants that load in this runtime, preferred first. */
export const attentionVariantsAvailable = (): WasmVariant[] => WASM_VARIANTS.filter((v) => loadVariant(v) !== null);

/** Throws when `buf` holds fewer than `len` values (shared with cpu-native.ts). */
export function needAttention(name: string, buf: Float32Array, len: number): void {
  if (buf.length < len) throw new LoomError('LOOM_ERR_BACKEND', `attention: ${name} holds ${buf.length} values, needs ${len}`);
}

function checkGrouping(heads: number, kvHeads: number): void {
  if (!(kvHeads >= 1) || heads % kvHeads !== 0) {
    throw new LoomError('LOOM_ERR_BACKEND', `attention: kvHeads (${kvHeads}) must be a positive divisor of heads (${heads})`);
  }
}

/** Byte offsets of consecutive float arrays of the given lengths, from `start`, each 64-byte aligned; and the end. */
function layout(start: number, lengths: number[]): { at: number[]; end: number } {
  const at: number[] = [];
  let p = start;
  for (const len of lengths) {
    at.push(p);
    p = align(p + len * 4);
  }
  return { at, end: p };
}

/** Element counts of q/out, k/v and probs, with the inputs both directions read checked against them (shared with cpu-native.ts). */
export function checkedAttentionSizes(args: Omit<AttentionArgs, 'out'>): { qLen: number; kvLen: number; pLen: number } {
  const { q, k, v, probs, batch, heads, kvHeads, seqQ, seqK, headDim } = args;
  checkGrouping(heads, kvHeads);
  const qLen = batch * seqQ * heads * headDim;
  const kvLen = batch * seqK * kvHeads * headDim;
  const pLen = batch * heads * seqQ * seqK;
  needAttention('q', q, qLen);
  needAttention('k', k, kvLen);
  needAttention('v', v, kvLen);
  needAttention('probs', probs, pLen);
  return { qLen, kvLen, pLen };
}

function runForward(kern: Kernel | null, args: AttentionArgs): void {
  if (kern === null) {
    attentionJs(args);
    return;
  }
  const { q, k, v, out, probs, batch, heads, kvHeads, seqQ, seqK, headDim, causal, scale } = args;
  const { qLen, kvLen, pLen } = checkedAttentionSizes(args);
  needAttention('out', out, qLen);
  const { at, end } = layout(kern.mod.dataStart, [qLen, kvLen, kvLen, qLen, pLen]);
  const [qP, kP, vP, oP, pP] = at as [number, number, number, number, number];
  const heap = kern.mod.heap(end);
  heap.set(q.subarray(0, qLen), qP >> 2);
  heap.set(k.subarray(0, kvLen), kP >> 2);
  heap.set(v.subarray(0, kvLen), vP >> 2);
  kern.forward(qP, kP, vP, oP, pP, batch, heads, kvHeads, seqQ, seqK, headDim, causal ? 1 : 0, scale);
  out.set(heap.subarray(oP >> 2, (oP >> 2) + qLen));
  probs.set(heap.subarray(pP >> 2, (pP >> 2) + pLen));
}

function runBackward(kern: Kernel | null, args: AttentionBackwardArgs): void {
  if (kern === null) {
    attentionBackwardJs(args);
    return;
  }
  const { q, k, v, probs, dOut, dq, dk, dv, batch, heads, kvHeads, seqQ, seqK, headDim, scale } = args;
  const { qLen, kvLen, pLen } = checkedAttentionSizes(args);
  needAttention('dOut', dOut, qLen);
  needAttention('dq', dq, qLen);
  needAttention('dk', dk, kvLen);
  needAttention('dv', dv, kvLen);
  const { at, end } = layout(kern.mod.dataStart, [qLen, kvLen, kvLen, pLen, qLen, qLen, kvLen, kvLen, seqK]);
  const [qP, kP, vP, pP, gP, dqP, dkP, dvP, wP] = at as [number, number, number, number, number, number, number, number, number];
  const heap = kern.mod.heap(end);
  heap.set(q.subarray(0, qLen), qP >> 2);
  heap.set(k.subarray(0, kvLen), kP >> 2);
  heap.set(v.subarray(0, kvLen), vP >> 2);
  heap.set(probs.subarray(0, pLen), pP >> 2);
  heap.set(dOut.subarray(0, qLen), gP >> 2);
  kern.backward(qP, kP, vP, pP, gP, dqP, dkP, dvP, batch, heads, kvHeads, seqQ, seqK, headDim, scale, wP);
  dq.set(heap.subarray(dqP >> 2, (dqP >> 2) + qLen));
  dk.set(heap.subarray(dkP >> 2, (dkP >> 2) + kvLen));
  dv.set(heap.subarray(dvP >> 2, (dvP >> 2) + kvLen));
}

export const attentionWasm = (args: AttentionArgs): void => runForward(preferred(), args);
export const attentionBackwardWasm = (args: AttentionBackwardArgs): void => runBackward(preferred(), args);

/** Forward and backward with one variant, for tests and the bench; throws when it does not load here. */
export function attentionWasmVariant(variant: WasmVariant): { forward: (args: AttentionArgs) => void; backward: (args: AttentionBackwardArgs) => void } {
  const kern = loadVariant(variant);
  if (kern === null) throw new LoomError('LOOM_ERR_BACKEND', `wasm attention ${variant} unavailable: ${loadError('attention', variant)}`);
  return { forward: (args) => runForward(kern, args), backward: (args) => runBackward(kern, args) };
}
