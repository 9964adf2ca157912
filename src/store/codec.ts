import { endianness } from 'node:os';

/**
 * Binary encodings of the store's BLOB columns: probabilities as float32 little-endian, correctness masks
 * bit-packed (sample i in byte i >> 3, bit i & 7, least significant bit first).
 */
const littleEndianHost = endianness() === 'LE';

export function encodeFloat32(values: Float32Array): Buffer {
  if (littleEndianHost) return Buffer.from(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

export function decodeFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength >>> 2;
  if (littleEndianHost) {
    // Copy into a fresh buffer: the Buffer sqlite gives back may sit at an offset not divisible by 4.
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 4));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true));
}

/** Packs one byte per sample (non-zero = correct) into bits. */
export function packMask(mask: Uint8Array): Buffer {
  const out = Buffer.alloc((mask.length + 7) >>> 3);
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) out[i >>> 3] = (out[i >>> 3] as number) | (1 << (i & 7));
  return out;
}

/** Unpacks `count` samples' bits into one byte per sample (0 or 1). */
export function unpackMask(bits: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = ((bits[i >>> 3] as number) >>> (i & 7)) & 1;
  return out;
}
