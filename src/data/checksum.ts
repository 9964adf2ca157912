import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import type { RawData } from './types.js';

/** A typed array's bytes in little-endian order (a copy only on a big-endian host). */
function littleEndianBytes(a: Float32Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (endianness() === 'LE') return bytes;
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) view.setFloat32(i * 4, a[i] as number, true);
    else view.setInt32(i * 4, a[i] as number, true);
  }
  return out;
}

/**
 * sha256 (hex) of a data set before splitting: a JSON header (shape, classes, count), then the features as
 * float32 little-endian, then the labels as int32 little-endian, all in the loader's canonical sample order.
 * The split seed, fractions and limit are not part of it: they travel with a job separately.
 */
export function checksumRaw(raw: RawData): string {
  const header = JSON.stringify({ inputShape: raw.inputShape, classNames: raw.classNames, count: raw.count });
  const hash = createHash('sha256');
  hash.update(header);
  hash.update(littleEndianBytes(raw.x));
  hash.update(littleEndianBytes(raw.y));
  return hash.digest('hex');
}
