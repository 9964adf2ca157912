import { LoomError, modelFileError } from '../errors.js';
import { Network, type NetworkSpec } from '../network.js';
import { Rng } from '../rng.js';

/**
 * Builds a network from a spec read out of a file. The weights are overwritten by the loader, so the seed only
 * fixes what params a file lacks. Any failure (a garbled spec, an unknown layer type) becomes a model-file error
 * that says where the spec came from and what was wrong.
 */
export function networkFromSpec(spec: unknown, where: string, seed = 0): Network {
  checkNetworkSpec(spec, where);
  try {
    return new Network(spec, new Rng(seed));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw modelFileError(`${where}: the architecture cannot be rebuilt: ${message}`);
  }
}

const isPositiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** Type-level and basic structural checks on an untrusted network spec. */
export function checkNetworkSpec(spec: unknown, where: string): asserts spec is NetworkSpec {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw modelFileError(`${where}: the architecture must be a JSON object`);
  const s = spec as Record<string, unknown>;
  if (!Array.isArray(s.inputShape) || s.inputShape.length === 0 || !s.inputShape.every(isPositiveInt)) {
    throw modelFileError(`${where}: inputShape must be a list of positive integers, got ${JSON.stringify(s.inputShape)}`);
  }
  for (const k of ['rows', 'cols', 'layersPerCell']) {
    if (!isPositiveInt(s[k])) throw modelFileError(`${where}: ${k} must be a positive integer, got ${JSON.stringify(s[k])}`);
  }
  if (!Array.isArray(s.layers) || !s.layers.every((l) => l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string')) {
    throw modelFileError(`${where}: layers must be a list of layer specs with a string "type"`);
  }
  for (const k of ['disabled', 'frozen']) {
    const v = s[k];
    if (v !== undefined && !(Array.isArray(v) && v.every((i) => Number.isInteger(i) && i >= 0))) {
      throw modelFileError(`${where}: ${k} must be a list of layer indices, got ${JSON.stringify(v)}`);
    }
  }
}

/** Rethrows anything as a model-file error, keeping LoomErrors of that code as they are. */
export function asModelFileError(err: unknown, where: string): LoomError {
  if (err instanceof LoomError && err.code === 'LOOM_ERR_MODEL_FILE') return err;
  return modelFileError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
}
