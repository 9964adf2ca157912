import type { Backend } from './types.js';
import type { WebGpuOptions } from './webgpu/index.js';
import { cpuJsBackend } from './cpu.js';
import { cpuNativeBackend, nativeAvailable, nativeExpected, nativeLoadError } from './cpu-native.js';
import { cpuWasmBackend, wasmAvailable, wasmLoadError } from './cpu-wasm.js';

export type { Backend } from './types.js';

/**
 * Backends by name. `defaultBackend()` is what layers get when a caller names none: cpu-native when its addon
 * (build/native/loom_native.node, built at install where a C compiler is present, AVX2 + FMA CPUs only) loads, else
 * cpu-wasm (build/wasm/matmul.wasm) with a one-line notice on stderr, else cpu-js with another. LOOM_BACKEND
 * (`cpu-native`, `cpu-wasm`, `cpu-js`, `auto`) forces a CPU backend for the whole process, worker threads included.
 * The WebGPU backend needs an async start (adapter, device, worker), so it is chosen with `selectBackend('webgpu')`.
 */
export type BackendChoice = 'auto' | 'cpu-js' | 'cpu-wasm' | 'cpu-native' | 'webgpu';
type CpuChoice = Exclude<BackendChoice, 'webgpu'>;
const CPU_CHOICES: readonly CpuChoice[] = ['auto', 'cpu-native', 'cpu-wasm', 'cpu-js'];

const backends = new Map<string, Backend>([[cpuJsBackend.name, cpuJsBackend]]);
let current: Backend | null = null;
const noticed = new Set<string>();

/** A one-line notice on stderr, printed once per process for each distinct message. */
export function noticeOnce(message: string): void {
  if (noticed.has(message)) return;
  noticed.add(message);
  process.stderr.write(`loom: ${message}\n`);
}

/** cpu-wasm when its kernel loads, else cpu-js with a notice. */
function wasmOrJs(): Backend {
  if (wasmAvailable()) {
    backends.set(cpuWasmBackend.name, cpuWasmBackend);
    return cpuWasmBackend;
  }
  noticeOnce(`WebAssembly kernels unavailable, using the plain JS backend (${wasmLoadError()})`);
  return cpuJsBackend;
}

/** The fastest CPU backend this install has: cpu-native, else cpu-wasm, else cpu-js (each fallback noticed once). */
export function bestCpuBackend(): Backend {
  if (nativeAvailable()) {
    backends.set(cpuNativeBackend.name, cpuNativeBackend);
    return cpuNativeBackend;
  }
  if (nativeExpected()) noticeOnce(`native kernel unavailable, using WebAssembly (${nativeLoadError()})`);
  return wasmOrJs();
}

/** LOOM_BACKEND, when set: one of the CPU choices (anything else is noticed and ignored). */
export function envBackendChoice(): CpuChoice | null {
  const raw = typeof process === 'undefined' ? undefined : process.env?.LOOM_BACKEND;
  if (raw === undefined || raw === '') return null;
  const choice = CPU_CHOICES.find((c) => c === raw);
  if (choice === undefined) noticeOnce(`LOOM_BACKEND=${raw} is not one of ${CPU_CHOICES.join(', ')}; using auto`);
  return choice ?? null;
}

/** A CPU choice resolved: 'cpu-wasm' and 'cpu-js' as asked (cpu-wasm falls back to cpu-js), the rest the best. */
function cpuBackendFor(choice: CpuChoice): Backend {
  if (choice === 'cpu-js') return cpuJsBackend;
  if (choice === 'cpu-wasm') return wasmOrJs();
  return bestCpuBackend();
}

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function getBackend(name: string): Backend {
  if (name === cpuWasmBackend.name && wasmAvailable()) return cpuWasmBackend;
  if (name === cpuNativeBackend.name && nativeAvailable()) return cpuNativeBackend;
  const b = backends.get(name);
  if (!b) throw new Error(`unknown backend "${name}" (known: ${[...backends.keys()].join(', ')})`);
  return b;
}

export function setDefaultBackend(backend: Backend): void {
  current = backend;
}

export const defaultBackend = (): Backend => (current ??= cpuBackendFor(envBackendChoice() ?? 'auto'));

/**
 * Resolves a backend option (CLI flag, config field) to a backend and makes it the default. 'webgpu' without an
 * adapter falls back to the best CPU backend, 'cpu-native' without its addon to cpu-wasm, each with a one-line
 * notice. 'auto' honours LOOM_BACKEND.
 */
export async function selectBackend(choice: BackendChoice = 'auto', gpuOptions?: WebGpuOptions): Promise<Backend> {
  let backend: Backend;
  if (choice === 'webgpu') {
    const { createWebGpuBackend } = await import('./webgpu/index.js');
    const gpu = await createWebGpuBackend(gpuOptions);
    backend = gpu ?? bestCpuBackend();
    if (gpu) registerBackend(gpu);
  } else {
    backend = cpuBackendFor(choice === 'auto' ? (envBackendChoice() ?? 'auto') : choice);
  }
  setDefaultBackend(backend);
  return backend;
}
