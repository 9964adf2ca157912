import { modelFileError } from '../errors.js';
import type { Param } from '../layers/types.js';
import type { FloatTensor } from './safetensors.js';

/** Anything with named parameters (a Network, a Layer). */
export interface HasParams {
  params(): Param[];
}

export interface LoadWeightsOptions {
  /**
   * Tensor name → param name (e.g. `{'fc1.weight': 'L0.kernel'}`), or a function returning the param name or
   * undefined to skip. Names not mapped are used as they are.
   */
  readonly mapping?: Readonly<Record<string, string>> | ((tensorName: string) => string | undefined);
  /** Throw when a param got no tensor or a tensor found no param. Default false (see the report). */
  readonly strict?: boolean;
}

export interface LoadWeightsReport {
  /** Param names that were filled. */
  readonly loaded: string[];
  /** Param names no tensor filled (they keep their values). */
  readonly missing: string[];
  /** Tensor names that matched no param. */
  readonly unused: string[];
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Copies tensors into a network's params by name. A shape mismatch is always an error (naming both shapes);
 * missing and unused names are reported, or thrown with `strict`.
 */
export function loadWeightsByName(
  target: HasParams,
  tensors: ReadonlyMap<string, FloatTensor> | Readonly<Record<string, FloatTensor>>,
  options: LoadWeightsOptions = {},
): LoadWeightsReport {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, FloatTensor>);
  const params = new Map(target.params().map((p) => [p.name, p]));
  const { mapping } = options;
  const rename = (name: string): string | undefined =>
    typeof mapping === 'function' ? mapping(name) : mapping && name in mapping ? mapping[name] : name;
  const loaded = new Set<string>();
  const unused: string[] = [];
  for (const [tensorName, t] of entries) {
    const paramName = rename(tensorName);
    const param = paramName === undefined ? undefined : params.get(paramName);
    if (!param) {
      unused.push(tensorName);
      continue;
    }
    if (loaded.has(param.name)) throw modelFileError(`weights: two tensors map to param ${param.name} (the second is "${tensorName}")`);
    if (!sameShape(t.shape, param.shape) || t.data.length !== param.value.length) {
      throw modelFileError(`weights: tensor "${tensorName}" has shape ${fmt(t.shape)} but param ${param.name} needs ${fmt(param.shape)}`);
    }
    param.value.set(t.data);
    loaded.add(param.name);
  }
  const missing = [...params.keys()].filter((n) => !loaded.has(n));
  if (options.strict && (missing.length > 0 || unused.length > 0)) {
    const parts = [
      missing.length > 0 ? `no tensor for params ${missing.join(', ')}` : '',
      unused.length > 0 ? `no param for tensors ${unused.join(', ')}` : '',
    ].filter(Boolean);
    throw modelFileError(`weights: ${parts.join('; ')}`);
  }
  return { loaded: [...loaded], missing, unused };
}

/** Every param as a named float tensor (copies), in params() order. */
export function paramTensors(source: HasParams): Map<string, FloatTensor> {
  return new Map(source.params().map((p) => [p.name, { shape: [...p.shape], data: Float32Array.from(p.value) }]));
}

/**
 * Copies every param of `source` into the param of `target` with the same name and shape; the rest of `target`
 * keeps its values. How a child network inherits what it shares with its trained parent (search: `inherit`),
 * so an architecture change keeps the layers it did not touch. Never throws on a mismatch: it reports it.
 */
export function inheritMatchingWeights(target: HasParams, source: HasParams): LoadWeightsReport {
  const wanted = new Map(target.params().map((p) => [p.name, p.shape]));
  const matching = new Map<string, FloatTensor>();
  const unused: string[] = [];
  for (const p of source.params()) {
    const shape = wanted.get(p.name);
    if (shape && sameShape(shape, p.shape)) matching.set(p.name, { shape: [...p.shape], data: p.value });
    else unused.push(p.name);
  }
  const report = loadWeightsByName(target, matching);
  return { ...report, unused };
}
