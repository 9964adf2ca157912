import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LoomError } from '../errors.js';
import { matmulJs } from './cpu-matmul.js';
import type { Backend, MatmulArgs } from './types.js';
import { makeConv2d, makeConv2dBackward } from './cpu-conv2d.js';
import { attentionJs, attentionBackwardJs } from './cpu-attention.js';

/**
 * The WebAssembly SIMD backend. The kernel (assembly/matmul.ts, built into build/wasm/matmul.wasm at install)
 * packs, transposes and multiplies inside its own memory; this file only copies the operands in and C out
 * (typed-array memcpy) through one long-lived view of that memory. Without the built kernel every call goes to
 * the plain JS reference, which gives the same results up to float rounding.
 */
export const WASM_PATH = fileURLToPath(new URL('../../../build/wasm/matmul.wasm', import.meta.url));
const PAGE = 65536;
/**
 * Products at or below this many multiply-adds (m·n·k) stay in JS, where the copies and the call would cost more
 * than the loop. Measured here: wasm is already 3-5× faster than JS at 8×8×8, 4-18× at 16×16×16 and 50-100× at
 * training sizes (32×128×64), so only trivial products stay.
 */
export const SMALL_PRODUCT = 4 * 4 * 4;

interface KernelExports {
  memory: WebAssembly.Memory;
  workBytes(): number;
  matmul(a: number, b: number, c: number, m: number, n: number, k: number, transA: number, transB: number, accumulate: number, work: number): void;
}

interface Kernel {
  exports: KernelExports;
  /** Start of the packing scratch; operands go after it. */
  work: number;
  dataStart: number;
  /** The view of memory, replaced only when memory grows (growing detaches the old buffer). */
  heap: Float32Array;
}

let kernel: Kernel | null | undefined;
let loadError = '';

function loadKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (!existsSync(WASM_PATH)) {
    loadError = `${WASM_PATH} is missing (built by \`npm install\` / \`node scripts/build-wasm.mjs\`)`;
    return null;
  }
  try {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(WASM_PATH)), {}).exports as unknown as KernelExports;
    // The module's own static data lives below the first page; the scratch and operands above it.
    const work = PAGE;
    const dataStart = align(work + exports.workBytes());
    kernel = { exports, work, dataStart, heap: new Float32Array(exports.memory.buffer) };
  } catch (err) {
    loadError = `${WASM_PATH} failed to load: ${(err as Error).message}`;
  }
  return kernel;
}

export const wasmAvailable = (): boolean => loadKernel() !== null;
/** Why the kernel did not load ('' when it did). */
export const wasmLoadError = (): string => (loadKernel() === null ? loadError : '');

const align = (bytes: number): number => (bytes + 63) & ~63;

function ensureBytes(kern: Kernel, bytes: number): Float32Array {
  const memory = kern.exports.memory;
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
  if (kern.heap.buffer !== memory.buffer) kern.heap = new Float32Array(memory.buffer);
  return kern.heap;
}

function checkLength(name: string, buf: Float32Array, offset: number, need: number): void {
  if (offset < 0 || offset + need > buf.length) {
    throw new LoomError('LOOM_ERR_BACKEND', `matmul: ${name} holds ${buf.length} values, needs ${need} from offset ${offset}`);
  }
}

/** Copies `len` values of src from `offset` into the heap at float index `at`, without a view when none is needed. */
function copyIn(heap: Float32Array, src: Float32Array, offset: number, len: number, at: number): void {
  heap.set(offset === 0 && src.length === len ? src : src.subarray(offset, offset + len), at);
}

export function matmulWasm(args: MatmulArgs): void {
  const { a, b, c, m, n, k } = args;
  const kern = loadKernel();
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
  const heap = ensureBytes(kern, cPtr + cLen * 4);
  copyIn(heap, a, ao, aLen, aPtr >> 2);
  copyIn(heap, b, bo, bLen, bPtr >> 2);
  const accumulate = args.accumulate ?? false;
  if (accumulate) copyIn(heap, c, co, cLen, cPtr >> 2);
  kern.exports.matmul(aPtr, bPtr, cPtr, m, n, k, args.transA ? 1 : 0, args.transB ? 1 : 0, accumulate ? 1 : 0, kern.work);
  c.set(heap.subarray(cPtr >> 2, (cPtr >> 2) + cLen), co);
}

export const cpuWasmBackend: Backend = {
  name: 'cpu-wasm',
  matmul: matmulWasm,
  conv2d: makeConv2d(matmulWasm),
  conv2dBackward: makeConv2dBackward(matmulWasm),
  attention: attentionJs,
  attentionBackward: attentionBackwardJs,
};
