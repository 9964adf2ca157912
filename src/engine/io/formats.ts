import { modelFileError } from '../errors.js';
import type { Network } from '../network.js';
import type { Preprocessing } from '../preprocess.js';
import { encodeLoomBundle, MULTI_PRECISION_DTYPES, type MultiPrecisionDtype } from './loom-bundle.js';
import { encodeLoomModel, LOOM_DTYPES, type LoomDtype } from './loom-format.js';
import { encodeOnnxModel } from './onnx/encode.js';

/**
 * The one list of formats Loom writes a model in. Every writer (loom export, loom graft, the search's end-of-run
 * export, the dashboard's graft) encodes through `encodeModel`; adding a format is one entry here.
 */

/** What travels with a model: the preprocessing it was trained with, plus free JSON (run, members, metrics, …). */
export interface ModelMetadata {
  readonly preprocessing?: Preprocessing;
  readonly [key: string]: unknown;
}

export interface EncodeModelOptions {
  /** Storage dtype of the weights (default float32); a format refuses a dtype it cannot store. */
  readonly dtype?: string;
  /** Defaults to network.modelId. */
  readonly modelId?: string;
}

export interface ModelFormatEntry {
  readonly name: string;
  /** The usual file-name ending, with its dot; also how a format is guessed from an output path. */
  readonly extension: string;
  readonly description: string;
  readonly encode: (network: Network, metadata: ModelMetadata, options: EncodeModelOptions) => Uint8Array;
}

function loomDtype(dtype: string | undefined): LoomDtype {
  const d = dtype ?? 'float32';
  if (!(LOOM_DTYPES as readonly string[]).includes(d)) throw modelFileError(`format loom stores ${LOOM_DTYPES.join(', ')} weights, not "${d}"`);
  return d as LoomDtype;
}

function bundleDtype(dtype: string | undefined): MultiPrecisionDtype {
  const d = dtype ?? 'float32';
  if (!(MULTI_PRECISION_DTYPES as readonly string[]).includes(d)) {
    throw modelFileError(`format loom-bundle stores ${MULTI_PRECISION_DTYPES.join(', ')} weights, not "${d}"`);
  }
  return d as MultiPrecisionDtype;
}

export const MODEL_FORMATS = [
  {
    name: 'loom',
    extension: '.loom',
    description: "Loom's model file (safetensors with the architecture and metadata)",
    encode: (network, metadata, options) =>
      encodeLoomModel(network, { dtype: loomDtype(options.dtype), modelId: options.modelId ?? network.modelId, metadata }),
  },
  {
    name: 'loom-bundle',
    extension: '.json',
    description: "LOOM's modelhost/bundle JSON",
    encode: (network, metadata, options) => {
      const dtype = bundleDtype(options.dtype);
      // float32 keeps LOOM's plain JSON weights (version 1); other dtypes need its multiPrecision payload.
      const bundle = dtype === 'float32' ? {} : { format: 'multiPrecisionB64' as const, dtype };
      const id = options.modelId ?? (network.modelId || 'model');
      return new TextEncoder().encode(encodeLoomBundle([{ id, network, metadata }], bundle));
    },
  },
  {
    name: 'onnx',
    extension: '.onnx',
    description: 'ONNX (opset 17) with the preprocessing inside the graph, for other runtimes',
    encode: (network, metadata, options) => {
      if ((options.dtype ?? 'float32') !== 'float32') throw modelFileError(`format onnx stores float32 weights, not "${options.dtype}"`);
      const { preprocessing, ...rest } = metadata;
      const modelId = options.modelId ?? network.modelId;
      return encodeOnnxModel(network, { ...(preprocessing ? { preprocessing } : {}), ...(modelId ? { modelId } : {}), metadata: rest });
    },
  },
] as const satisfies readonly ModelFormatEntry[];

export type ModelFormat = (typeof MODEL_FORMATS)[number]['name'];
export const MODEL_FORMAT_NAMES: readonly ModelFormat[] = MODEL_FORMATS.map((f) => f.name);

export const isModelFormat = (name: string): name is ModelFormat => (MODEL_FORMAT_NAMES as readonly string[]).includes(name);

/** The entry of a format name; an unknown name is a model-file error listing the known ones. */
export function modelFormat(name: string): ModelFormatEntry {
  const entry = (MODEL_FORMATS as readonly ModelFormatEntry[]).find((f) => f.name === name);
  if (!entry) throw modelFileError(`unknown model format "${name}" (known: ${MODEL_FORMAT_NAMES.join(', ')})`);
  return entry;
}

/** The format to write: the one asked for, else the one whose extension ends the path, else loom. */
export function formatForPath(path: string, asked?: string): ModelFormat {
  if (asked !== undefined) {
    if (!isModelFormat(asked)) throw modelFileError(`unknown model format "${asked}" (known: ${MODEL_FORMAT_NAMES.join(', ')})`);
    return asked;
  }
  const lower = path.toLowerCase();
  const byExtension = MODEL_FORMATS.find((f) => lower.endsWith(f.extension));
  return byExtension?.name ?? 'loom';
}

/** Encodes a network in a format, with its metadata (preprocessing included). */
export function encodeModel(network: Network, format: ModelFormat, metadata: ModelMetadata = {}, options: EncodeModelOptions = {}): Uint8Array {
  return modelFormat(format).encode(network, metadata, options);
}
