import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Loads the WebAssembly kernels built from assembly/ into build/wasm/ at install (scripts/build-wasm.mjs). Each is
 * built twice: plain SIMD, and relaxed SIMD (f32x4.relaxed_madd: one fused multiply-add where the CPU has FMA).
 * The relaxed build is preferred when the runtime validates a tiny relaxed-SIMD module (Node >= 22) and its file
 * loads; the plain build otherwise. Each loaded module owns its memory; callers copy operands in above `dataStart`.
 */
export type WasmVariant = 'relaxed-simd' | 'simd';
/** Preferred first. */
export const WASM_VARIANTS: readonly WasmVariant[] = ['relaxed-simd', 'simd'];
export type KernelName = 'matmul' | 'attention' | 'lstm';

export const wasmPath = (name: KernelName, variant: WasmVariant): string =>
  fileURLToPath(new URL(`../../../build/wasm/${name}${variant === 'relaxed-simd' ? '-relaxed' : ''}.wasm`, import.meta.url));

export const PAGE = 65536;

/**
 * () => v128.const 0; v128.const 0; v128.const 0; f32x4.relaxed_madd (opcode 0xfd 0x105): valid only where the
 * runtime has relaxed SIMD.
 */
const RELAXED_PROBE = (() => {
  const zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const body = [0x00, ...zero, ...zero, ...zero, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
    0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // code section
  ]);
})();

let relaxedSupported: boolean | undefined;
/** Whether this runtime runs WebAssembly relaxed SIMD (on by default from Node 22). */
export function relaxedSimdSupported(): boolean {
  return (relaxedSupported ??= WebAssembly.validate(RELAXED_PROBE));
}

/** A loaded kernel module: its exports, and a view of its memory kept current across growth. */
export class WasmModule {
  /** Operands go at or above this byte offset (the module's static data sits in the first page). */
  readonly dataStart = PAGE;
  private view: Float32Array;

  constructor(
    readonly exports: WebAssembly.Exports,
    readonly memory: WebAssembly.Memory,
  ) {
    this.view = new Float32Array(memory.buffer);
  }

  /** A float view of memory at least `bytes` long (growing invalidates earlier views). */
  heap(bytes: number): Float32Array {
    // Fast path without touching memory.buffer (a runtime call): growth detaches the old view to length 0.
    if (this.view.byteLength >= bytes) return this.view;
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** An exported function, checked to be one. */
  fn(name: string): (...args: number[]) => number | undefined {
    const f = this.exports[name];
    if (typeof f !== 'function') throw new Error(`export ${name} is missing`);
    return f as (...args: number[]) => number | undefined;
  }
}

export const align = (bytes: number): number => (bytes + 63) & ~63;

const modules = new Map<string, WasmModule | null>();
const errors = new Map<string, string>();

/** The module for a kernel and variant, or null (see loadError) when it is not built or this runtime lacks it. */
export function loadWasm(name: KernelName, variant: WasmVariant): WasmModule | null {
  const key = `${name}:${variant}`;
  const known = modules.get(key);
  if (known !== undefined) return known;
  modules.set(key, null);
  const path = wasmPath(name, variant);
  if (variant === 'relaxed-simd' && !relaxedSimdSupported()) {
    errors.set(key, `this runtime (Node ${process.version}) has no WebAssembly relaxed SIMD`);
    return null;
  }
  if (!existsSync(path)) {
    errors.set(key, `${path} is missing (built by \`npm install\` / \`node scripts/build-wasm.mjs\`)`);
    return null;
  }
  try {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {});
    const memory = exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error('no exported memory');
    const mod = new WasmModule(exports, memory);
    modules.set(key, mod);
    return mod;
  } catch (err) {
    errors.set(key, `${path} failed to load: ${(err as Error).message}`);
    return null;
  }
}

export const loadError = (name: KernelName, variant: WasmVariant): string => errors.get(`${name}:${variant}`) ?? '';
