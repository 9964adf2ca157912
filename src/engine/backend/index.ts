import type { Backend } from './types.js';
import type { WebGpuOptions } from './webgpu/index.js';
import { cpuJsBackend } from './cpu.js';
import { cpuWasmBackend, wasmAvailable, wasmLoadError } from './cpu-wasm.js';

export type { Backend } from './types.js';

/**
 * Backends by name. `defaultBackend()` is what layers get when a caller names none: cpu-wasm when its kernel
 * (build/wasm/matmul.wasm, built at install) loads, else cpu-js with a one-line notice on stderr. The WebGPU
 * backend needs an async start (adapter, device, worker), so it is chosen with `selectBackend('webgpu')`.
 */
export type BackendChoice = 'auto' | 'cpu-js' | 'cpu-wasm' | 'webgpu';

const backends = new Map<string, Backend>([[cpuJsBackend.name, cpuJsBackend]]);
let current: Backend | null = null;
const noticed = new Set<string>();

/** A one-line notice on stderr, printed once per process for each distinct message. */
export function noticeOnce(message: string): void {
  if (noticed.has(message)) return;
  noticed.add(message);
  process.stderr.write(`loom: ${message}\n`);
}

/** The fastest CPU backend this install has. */
export function bestCpuBackend(): Backend {
  if (wasmAvailable()) {
    backends.set(cpuWasmBackend.name, cpuWasmBackend);
    return cpuWasmBackend;
  }
  noticeOnce(`WebAssembly kernels unavailable, using the plain JS backend (${wasmLoadError()})`);
  return cpuJsBackend;
}

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function getBackend(name: string): Backend {
  if (name === cpuWasmBackend.name && wasmAvailable()) return cpuWasmBackend;
  const b = backends.get(name);
  if (!b) throw new Error(`unknown backend "${name}" (known: ${[...backends.keys()].join(', ')})`);
  return b;
}

export function setDefaultBackend(backend: Backend): void {
  current = backend;
}

export const defaultBackend = (): Backend => (current ??= bestCpuBackend());

/**
 * Resolves a backend option (CLI flag, config field) to a backend and makes it the default. 'webgpu' without an
 * adapter, or 'cpu-wasm' without its kernel, falls back to the best CPU backend with a one-line notice.
 */
export async function selectBackend(choice: BackendChoice = 'auto', gpuOptions?: WebGpuOptions): Promise<Backend> {
  let backend: Backend;
  if (choice === 'webgpu') {
    const { createWebGpuBackend } = await import('./webgpu/index.js');
    const gpu = await createWebGpuBackend(gpuOptions);
    backend = gpu ?? bestCpuBackend();
    if (gpu) registerBackend(gpu);
  } else if (choice === 'cpu-js') {
    backend = cpuJsBackend;
  } else {
    backend = bestCpuBackend();
  }
  setDefaultBackend(backend);
  return backend;
}
