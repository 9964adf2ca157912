import { modelFileError } from '../errors.js';
import type { Network } from '../network.js';
import { parsePreprocessing, type Preprocessing } from '../preprocess.js';
import type { ModelFormat } from './formats.js';
import { decodeLoomBundle, type DecodeBundleOptions } from './loom-bundle.js';
import { decodeLoomModel } from './loom-format.js';

/**
 * One entry point for "a model file's bytes → networks", whatever the format: Loom's safetensors model or a LOOM
 * `modelhost/bundle` JSON, told apart by content (never by file name). Format names are formats.ts' list.
 */
export type { ModelFormat } from './formats.js';

export interface LoadedModel {
  readonly network: Network;
  readonly modelId: string;
  readonly format: ModelFormat;
  /** Storage dtype of the weights (float32, float16, int8, …). */
  readonly dtype: string;
  /** Free metadata stored with the model. */
  readonly metadata: Record<string, unknown>;
  /** The input transform the model was trained with; null for files written before Loom stored it. */
  readonly preprocessing: Preprocessing | null;
}

export interface DecodedModels {
  readonly models: LoadedModel[];
  /** What the file lacked and was filled in (bundles with missing weights). */
  readonly warnings: string[];
}

/** Safetensors starts with an 8-byte length and then '{'; a bundle is JSON text starting with '{'. */
export function detectModelFormat(bytes: Uint8Array): 'loom' | 'loom-bundle' {
  if (bytes.length >= 9 && bytes[8] === 0x7b) {
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    if (length > 0 && length <= bytes.length - 8) return 'loom';
  }
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b) return 'loom-bundle';
  if (bytes.length === 0) throw modelFileError('model file is empty');
  return 'loom';
}

/** Every model in the bytes (a Loom file holds one; a bundle may hold several). */
export function decodeModels(bytes: Uint8Array, options: DecodeBundleOptions & { what?: string } = {}): DecodedModels {
  const format: ModelFormat = detectModelFormat(bytes);
  const what = options.what ?? 'model file';
  if (format === 'loom') {
    const file = decodeLoomModel(bytes, options.what);
    const preprocessing = modelPreprocessing(file.network, file.metadata, what);
    return { models: [{ network: file.network, modelId: file.modelId, format, dtype: file.dtype, metadata: file.metadata, preprocessing }], warnings: [] };
  }
  const bundle = decodeLoomBundle(bytes, options);
  return {
    models: bundle.models.map((m) => ({
      network: m.network,
      modelId: m.id,
      format,
      dtype: m.dtype,
      metadata: m.metadata,
      preprocessing: modelPreprocessing(m.network, m.metadata, `${what} model "${m.id}"`),
    })),
    warnings: bundle.warnings,
  };
}

/** The stored preprocessing (metadata.preprocessing), parsed and checked against the network; null when absent. */
function modelPreprocessing(network: Network, metadata: Record<string, unknown>, what: string): Preprocessing | null {
  if (metadata.preprocessing === undefined) return null;
  const p = parsePreprocessing(metadata.preprocessing, `${what}: preprocessing`);
  const shape = (s: readonly number[]): string => `[${s.join(', ')}]`;
  if (shape(p.inputShape) !== shape(network.inputShape)) {
    throw modelFileError(`${what}: the preprocessing gives inputs of shape ${shape(p.inputShape)}, the network takes ${shape(network.inputShape)}`);
  }
  const out = network.outputShape;
  if (out.length === 1 && out[0] !== p.classes.length) {
    throw modelFileError(`${what}: the preprocessing names ${p.classes.length} classes, the network outputs ${out[0]}`);
  }
  return p;
}

/** The one model to run: the only one, or the one with `modelId`. */
export function pickModel(decoded: DecodedModels, modelId?: string): LoadedModel {
  const { models } = decoded;
  if (modelId !== undefined) {
    const found = models.find((m) => m.modelId === modelId);
    if (!found) throw modelFileError(`no model "${modelId}" in the file (it holds: ${models.map((m) => JSON.stringify(m.modelId)).join(', ')})`);
    return found;
  }
  if (models.length !== 1) {
    throw modelFileError(`the file holds ${models.length} models (${models.map((m) => JSON.stringify(m.modelId)).join(', ')}); choose one by id`);
  }
  return models[0] as LoadedModel;
}
