import { LoomError } from '../errors.js';
import { matmulJs } from './cpu-matmul.js';
import type { Backend, MatmulArgs } from './types.js';
import { makeConv2d, makeConv2dBackward } from './cpu-conv2d.js';
import { attentionBackwardWasm, attentionWasm } from './cpu-wasm-attention.js';
import { makeLstmForward } from './cpu-wasm-lstm.js';
import { align, loadError, loadWasm, wasmPath, WASM_VARIANTS, type WasmModule, type WasmVariant } from './wasm-loader.js';

/**
 * The WebAssembly SIMD backend. The matmul kernel (assembly/matmul.ts) packs, transposes and multiplies inside its
 * own memory; this file only copies the operands in and C out (typed-array memcpy). The attention core runs in
 * its own module (cpu-wasm-attention.ts). Without the built kernels every call goes to the plain JS reference,
 * which gives the same results up to float rounding. Each kernel comes in a plain-SIMD and a relaxed-SIMD (FMA)
 * build; wasm-loader.ts picks the relaxed one where the runtime has it.
 */
export type { WasmVariant } from './wasm-loader.js';
export { relaxedSimdSupported, WASM_VARIANTS } from './wasm-loader.js';
export const WASM_PATHS: Readonly<Record<WasmVariant, string>> = { 'relaxed-simd': wasmPath('matmul', 'relaxed-simd'), simd: wasmPath('matmul', 'simd') };
export const WASM_PATH = WASM_PATHS.simd;
/**
 * Products at or below this many multiply-adds (m·n·k) stay in JS, where the copies and the call would cost more
 * than the loop. Measured here: wasm is already 3-5× faster than JS at 8×8×8, 4-18× at 16×16×16 and 50-100× at
 * training sizes (32×128×64), so only trivial products stay.
 */
export const SMALL_PRODUCT = 4 * 4 * 4;

interface Kernel {
  mod: WasmModule;
  matmul: (a: number, b: number, c: number, m: number, n: number, k: number, transA: number, transB: number, accumulate: number, work: number) => void;
  /** Start of the packing scratch; operands go after it. */
  work: number;
  dataStart: number;
}

const kernels = new Map<WasmVariant, Kernel | null>();

function loadVariant(variant: WasmVariant): Kernel | null {
  const known = kernels.get(variant);
  if (known !== undefined) return known;
  let kern: Kernel | null = null;
  const mod = loadWasm('matmul', variant);
  if (mod) {
    const work = mod.dataStart;
    kern = { mod, matmul: mod.fn('matmul'), work, dataStart: align(work + Number(mod.fn('workBytes')())) };
  }
  kernels.set(variant, kern);
  return kern;
}

let preferred: WasmVariant | null | undefined;
/** The variant matmulWasm uses: relaxed SIMD where it loads, else plain SIMD, else null (plain JS). */
export function wasmVariant(): WasmVariant | null {
  if (preferred === undefined) preferred = WASM_VARIANTS.find((v) => loadVariant(v) !== null) ?? null;
  return preferred;
}

/** The variants that load in this runtime, preferred first. */
export const wasmVariantsAvailable = (): WasmVariant[] => WASM_VARIANTS.filter((v) => loadVariant(v) !== null);

const loadKernel = (): Kernel | null => {
  const v = wasmVariant();
  return v === null ? null : loadVariant(v);
};

export const wasmAvailable = (): boolean => wasmVariant() !== null;
/** Why the kernel did not load ('' when it did). */
export const wasmLoadError = (): string => (wasmAvailable() ? '' : WASM_VARIANTS.map((v) => `${v}: ${loadError('matmul', v)}`).join('; '));

/** Throws when `buf` has fewer than `need` values from `offset` (shared with cpu-native.ts). */
export function checkLength(name: string, buf: Float32Array, offset: number, need: number): void {
  if (offset < 0 || offset + need > buf.length) {
    throw new LoomError('LOOM_ERR_BACKEND', `matmul: ${name} holds ${buf.length} values, needs ${need} from offset ${offset}`);
  }
}

/** Copies `len` values of src from `offset` into the heap at float index `at`, without a view when none is needed. */
function copyIn(heap: Float32Array, src: Float32Array, offset: number, len: number, at: number): void {
  heap.set(offset === 0 && src.length === len ? src : src.subarray(offset, offset + len), at);
}

/** matmul with the preferred kernel (plain JS when none loads). */
export function matmulWasm(args: MatmulArgs): void {
  runMatmul(loadKernel(), args);
}

/** matmul with one kernel variant, for tests and the bench; throws when that variant does not load here. */
export function matmulWasmVariant(variant: WasmVariant): (args: MatmulArgs) => void {
  const kern = loadVariant(variant);
  if (kern === null) throw new LoomError('LOOM_ERR_BACKEND', `wasm kernel ${variant} unavailable: ${loadError('matmul', variant)}`);
  return (args) => runMatmul(kern, args);
}

function runMatmul(kern: Kernel | null, args: MatmulArgs): void {
  const { a, b, c, m, n, k } = args;
  if (kern === null || m * n * k <= SMALL_PRODUCT) {
    matmulJs(args);
    return;
  }
  const ao = args.aOffset ?? 0;
  const bo = args.bOffset ?? 0;
  const co = args.cOffset ?? 0;
  const aLen = m * k;
  const bLen = k * n;
  const cLen = m * n;
  checkLength('a', a, ao, aLen);
  checkLength('b', b, bo, bLen);
  checkLength('c', c, co, cLen);
  const aPtr = kern.dataStart;
  const bPtr = align(aPtr + aLen * 4);
  const cPtr = align(bPtr + bLen * 4);
  const heap = kern.mod.heap(cPtr + cLen * 4);
  copyIn(heap, a, ao, aLen, aPtr >> 2);
  copyIn(heap, b, bo, bLen, bPtr >> 2);
  const accumulate = args.accumulate ?? false;
  if (accumulate) copyIn(heap, c, co, cLen, cPtr >> 2);
  kern.matmul(aPtr, bPtr, cPtr, m, n, k, args.transA ? 1 : 0, args.transB ? 1 : 0, accumulate ? 1 : 0, kern.work);
  c.set(heap.subarray(cPtr >> 2, (cPtr >> 2) + cLen), co);
}

export const cpuWasmBackend: Backend = {
  name: 'cpu-wasm',
  matmul: matmulWasm,
  conv2d: makeConv2d(matmulWasm),
  conv2dBackward: makeConv2dBackward(matmulWasm),
  attention: attentionWasm,
  attentionBackward: attentionBackwardWasm,
  lstmForward: makeLstmForward(matmulWasm),
};
