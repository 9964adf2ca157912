import { modelFileError } from '../errors.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';

/**
 * The safetensors container (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [start, end]}, "__metadata__": {string: string}}`, then the
 * raw little-endian tensor bytes, offsets relative to the end of the header. Every check names what is wrong, so a
 * truncated or garbled file is a LOOM_ERR_MODEL_FILE, never a RangeError from deep inside a typed array.
 */

/** Bytes per element of every dtype the format defines. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

/** The float dtypes `readSafetensors` converts to float32. */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

/** One stored tensor, its bytes a view into the file. */
export interface RawTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

export interface SafetensorsContents {
  /** In header order. */
  readonly tensors: readonly RawTensor[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** A float tensor as the engine uses it. */
export interface FloatTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Above this, a "header length" is garbage rather than a header (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Splits a safetensors file into tensors and metadata; checks every length, offset and shape against the bytes. */
export function parseSafetensors(bytes: Uint8Array, what = 'safetensors file'): SafetensorsContents {
  if (bytes.length < 8) throw modelFileError(`${what}: ${bytes.length} bytes is too short to hold the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
    throw modelFileError(`${what}: header length ${headerLength} is not plausible (not a safetensors file?)`);
  }
  if (8 + headerLength > bytes.length) {
    throw modelFileError(`${what}: truncated: the header says ${headerLength} bytes but only ${bytes.length - 8} follow`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw modelFileError(`${what}: the header is not valid JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw modelFileError(`${what}: the header must be a JSON object`);
  const data = bytes.subarray(8 + headerLength);
  const metadata: Record<string, string> = {};
  const tensors: RawTensor[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw modelFileError(`${what}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') throw modelFileError(`${what}: __metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(what, name, entry, data));
  }
  return { tensors, metadata };
}

function parseEntry(what: string, name: string, entry: unknown, data: Uint8Array): RawTensor {
  const where = `${what}: tensor "${name}"`;
  if (!entry || typeof entry !== 'object') throw modelFileError(`${where}: entry must be an object {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string') throw modelFileError(`${where}: dtype must be a string`);
  const width = DTYPE_BYTES[dtype];
  if (width === undefined) throw modelFileError(`${where}: unknown dtype "${dtype}" (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isIndex)) throw modelFileError(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw modelFileError(`${where}: data_offsets must be [start, end], got ${JSON.stringify(offsets)}`);
  }
  const [start, end] = offsets as [number, number];
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * width;
  if (end < start || end - start !== expected) {
    throw modelFileError(`${where}: data_offsets [${start}, ${end}] hold ${end - start} bytes, but ${dtype} [${shape.join(', ')}] needs ${expected}`);
  }
  if (end > data.length) throw modelFileError(`${where}: truncated: its data ends at byte ${end} but the file holds ${data.length} data bytes`);
  return { name, dtype, shape: [...shape], bytes: data.subarray(start, end) };
}

/** A tensor's values as float32; F32, F16 and BF16 only. */
export function toFloat32(t: RawTensor): Float32Array {
  const n = t.bytes.length;
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, n);
  switch (t.dtype) {
    case 'F32': {
      const out = new Float32Array(n / 4);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n / 2);
      for (let i = 0; i < out.length; i++) out[i] = float16BitsToFloat32(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n / 2);
      for (let i = 0; i < out.length; i++) out[i] = bfloat16BitsToFloat32(view.getUint16(2 * i, true));
      return out;
    }
    default:
      throw modelFileError(`tensor "${t.name}" has dtype ${t.dtype}; only ${FLOAT_DTYPES.join(', ')} tensors can be read as weights`);
  }
}

/** Reads any safetensors file of float tensors (F32, F16, BF16) into float32; other dtypes are an error. */
export function readSafetensors(bytes: Uint8Array, what?: string): { tensors: Map<string, FloatTensor>; metadata: Record<string, string> } {
  const contents = parseSafetensors(bytes, what);
  const tensors = new Map<string, FloatTensor>();
  for (const t of contents.tensors) tensors.set(t.name, { shape: t.shape, data: toFloat32(t) });
  return { tensors, metadata: { ...contents.metadata } };
}

/** Builds a safetensors file from raw tensors in the given order; the header is space-padded to 8 bytes. */
export function encodeSafetensors(tensors: readonly RawTensor[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw modelFileError(`safetensors: duplicate or reserved tensor name "${t.name}"`);
    const width = DTYPE_BYTES[t.dtype];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (width === undefined || count * width !== t.bytes.length) {
      throw modelFileError(`safetensors: tensor "${t.name}" has ${t.bytes.length} bytes for ${t.dtype} [${t.shape.join(', ')}]`);
    }
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  if (headerBytes.length % 8 !== 0) {
    json += ' '.repeat(8 - (headerBytes.length % 8));
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/** float32 values as little-endian F32, F16 (round to nearest even) or BF16 (round to nearest even) bytes. */
export function encodeFloats(values: Float32Array, dtype: FloatDtype): Uint8Array {
  const width = dtype === 'F32' ? 4 : 2;
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (dtype === 'F32') view.setFloat32(4 * i, v, true);
    else if (dtype === 'F16') view.setUint16(2 * i, float32ToFloat16Bits(v), true);
    else view.setUint16(2 * i, float32ToBfloat16Bits(v), true);
  }
  return out;
}

function float32ToBfloat16Bits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0] as number;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40; // keep NaN a NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Writes float tensors (name → shape and values) as a safetensors file in F32, F16 or BF16. */
export function writeSafetensors(
  tensors: ReadonlyMap<string, FloatTensor>,
  options: { dtype?: FloatDtype; metadata?: Readonly<Record<string, string>> } = {},
): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  const raw = [...tensors].map(([name, t]) => ({ name, dtype, shape: t.shape, bytes: encodeFloats(t.data, dtype) }));
  return encodeSafetensors(raw, options.metadata);
}
