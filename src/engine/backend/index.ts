import type { Backend } from './types.js';
import { cpuJsBackend } from './cpu.js';

export type { Backend } from './types.js';

/**
 * Backends by name. The performance work registers faster ones (cpu-wasm, webgpu) here; `defaultBackend()`
 * is what layers get when a caller names none.
 */
const backends = new Map<string, Backend>([[cpuJsBackend.name, cpuJsBackend]]);
let current: Backend = cpuJsBackend;

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new Error(`unknown backend "${name}" (known: ${[...backends.keys()].join(', ')})`);
  return b;
}

export function setDefaultBackend(backend: Backend): void {
  current = backend;
}

export const defaultBackend = (): Backend => current;
