import { modelFileError } from '../errors.js';
import type { Network } from '../network.js';
import { FLOAT16_MAX } from './float16.js';
import { encodeFloats, encodeSafetensors, parseSafetensors, toFloat32, type RawTensor, type SafetensorsContents } from './safetensors.js';
import { asModelFileError, networkFromSpec } from './rebuild.js';

/**
 * Loom's own model file: a safetensors file with one tensor per Param (named as `network.params()`, e.g.
 * `L3.branch.1.kernel`) and string `__metadata__` entries:
 *
 *   format "loom-model" · format_version "1" · dtype · model_id · spec (the resolved NetworkSpec as JSON) ·
 *   metadata (the caller's free JSON) · scales (int8 only: JSON {param name: scale})
 *
 * Storage dtypes and their error bounds per weight w (loading always gives float32):
 * - float32: exact.
 * - float16: round to nearest even; |w' − w| ≤ 2⁻¹¹·|w| for |w| ≥ 2⁻¹⁴, ≤ 2⁻²⁵ below (subnormals). |w| > 65504 is refused.
 * - int8: symmetric per-tensor scale s = max|w|/127, q = round(w/s); |w' − w| ≤ s/2 = max|w|/254.
 */
export const LOOM_FORMAT = 'loom-model';
export const LOOM_FORMAT_VERSION = 1;
export const LOOM_DTYPES = ['float32', 'float16', 'int8'] as const;
export type LoomDtype = (typeof LOOM_DTYPES)[number];

export interface EncodeLoomOptions {
  readonly dtype?: LoomDtype;
  /** Defaults to network.modelId. */
  readonly modelId?: string;
  /** Free JSON the caller wants to keep with the model (training run, metrics, …). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface LoomModelFile {
  readonly network: Network;
  readonly modelId: string;
  readonly dtype: LoomDtype;
  readonly version: number;
  readonly metadata: Record<string, unknown>;
}

/** Encodes a network (architecture and every param) as a Loom model file. */
export function encodeLoomModel(network: Network, options: EncodeLoomOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'float32';
  if (!(LOOM_DTYPES as readonly string[]).includes(dtype)) throw modelFileError(`unknown storage dtype "${dtype}" (known: ${LOOM_DTYPES.join(', ')})`);
  const scales: Record<string, number> = {};
  const tensors: RawTensor[] = network.params().map((p) => {
    if (dtype === 'float32') return { name: p.name, dtype: 'F32', shape: p.shape, bytes: encodeFloats(p.value, 'F32') };
    if (dtype === 'float16') {
      const over = p.value.findIndex((v) => Math.abs(v) > FLOAT16_MAX);
      if (over >= 0) throw modelFileError(`param ${p.name}[${over}] = ${p.value[over]} is beyond float16's range (±${FLOAT16_MAX}); save as float32`);
      return { name: p.name, dtype: 'F16', shape: p.shape, bytes: encodeFloats(p.value, 'F16') };
    }
    const { scale, bytes } = quantizeInt8(p.name, p.value);
    scales[p.name] = scale;
    return { name: p.name, dtype: 'I8', shape: p.shape, bytes };
  });
  const metadata: Record<string, string> = {
    format: LOOM_FORMAT,
    format_version: String(LOOM_FORMAT_VERSION),
    dtype,
    model_id: options.modelId ?? network.modelId,
    spec: JSON.stringify(network.spec),
    metadata: JSON.stringify(options.metadata ?? {}),
  };
  if (dtype === 'int8') metadata.scales = JSON.stringify(scales);
  return encodeSafetensors(tensors, metadata);
}

/** Symmetric per-tensor int8: s = max|w|/127, q = round(w/s) (ties away from zero), stored as two's complement bytes. */
export function quantizeInt8(name: string, values: Float32Array): { scale: number; bytes: Uint8Array } {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i] as number);
    if (!Number.isFinite(a)) throw modelFileError(`param ${name}[${i}] = ${values[i]} cannot be stored as int8`);
    if (a > max) max = a;
  }
  const scale = max / 127;
  const q = new Int8Array(values.length);
  if (scale > 0) for (let i = 0; i < values.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(Math.abs(values[i] as number) / scale))) * Math.sign(values[i] as number);
  return { scale, bytes: new Uint8Array(q.buffer) };
}

export function dequantizeInt8(bytes: Uint8Array, scale: number): Float32Array {
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = (q[i] as number) * scale;
  return out;
}

/** True when safetensors contents carry Loom's model metadata. */
export const isLoomModel = (contents: SafetensorsContents): boolean => contents.metadata.format === LOOM_FORMAT;

function parseJson(what: string, key: string, text: string | undefined): unknown {
  if (text === undefined) throw modelFileError(`${what}: the metadata has no "${key}" entry`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw modelFileError(`${what}: metadata "${key}" is not valid JSON (${(err as Error).message})`);
  }
}

/** Decodes a Loom model file: rebuilds the network from its spec and fills every param by name. */
export function decodeLoomModel(bytes: Uint8Array, what = 'model file'): LoomModelFile {
  const contents = parseSafetensors(bytes, what);
  const meta = contents.metadata;
  if (!isLoomModel(contents)) {
    throw modelFileError(`${what}: not a Loom model (no "format": "${LOOM_FORMAT}" metadata); read plain safetensors weights with readSafetensors and loadWeightsByName`);
  }
  const version = Number(meta.format_version);
  if (!Number.isInteger(version) || version < 1) throw modelFileError(`${what}: bad format_version ${JSON.stringify(meta.format_version)}`);
  if (version > LOOM_FORMAT_VERSION) throw modelFileError(`${what}: format version ${version} is newer than this Loom reads (${LOOM_FORMAT_VERSION})`);
  const dtype = meta.dtype as LoomDtype;
  if (!(LOOM_DTYPES as readonly string[]).includes(dtype)) throw modelFileError(`${what}: unknown dtype ${JSON.stringify(meta.dtype)} (known: ${LOOM_DTYPES.join(', ')})`);
  const spec = parseJson(what, 'spec', meta.spec);
  const metadata = meta.metadata === undefined ? {} : parseJson(what, 'metadata', meta.metadata);
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) throw modelFileError(`${what}: metadata "metadata" must be a JSON object`);
  const scales = dtype === 'int8' ? (parseJson(what, 'scales', meta.scales) as Record<string, unknown>) : {};

  const network = networkFromSpec(spec, what);
  const stored = new Map(contents.tensors.map((t) => [t.name, t]));
  for (const p of network.params()) {
    const t = stored.get(p.name);
    if (!t) throw modelFileError(`${what}: no tensor for param ${p.name}`);
    stored.delete(p.name);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw modelFileError(`${what}: tensor ${p.name} has shape [${t.shape.join(', ')}] but the architecture needs [${p.shape.join(', ')}]`);
    }
    try {
      if (t.dtype === 'I8') {
        const scale = scales?.[p.name];
        if (typeof scale !== 'number' || !(scale >= 0) || !Number.isFinite(scale)) throw modelFileError(`${what}: no valid int8 scale for ${p.name}`);
        p.value.set(dequantizeInt8(t.bytes, scale));
      } else p.value.set(toFloat32(t));
    } catch (err) {
      throw asModelFileError(err, what);
    }
  }
  if (stored.size > 0) throw modelFileError(`${what}: tensors ${[...stored.keys()].join(', ')} belong to no param of the architecture`);
  const modelId = meta.model_id ?? '';
  network.modelId = modelId;
  return { network, modelId, dtype, version, metadata: metadata as Record<string, unknown> };
}
