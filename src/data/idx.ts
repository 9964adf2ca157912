import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dataError } from '../engine/errors.js';
import type { RawData } from './types.js';

/**
 * IDX files (the MNIST family's format, http://yann.lecun.com/exdb/mnist/): a big-endian header — two zero bytes,
 * a type byte, the number of dimensions, each dimension as a uint32 — then the values row-major. `idx:DIR` reads
 * DIR's train-images/train-labels pair and, when present, the t10k pair after it (one pool that Loom's seeded,
 * stratified split then divides; `data.limit` draws a stratified subset). Files may be gzipped (`.gz`).
 */

/** Debian's dataset-fashion-mnist package installs the four IDX files here. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

export interface IdxArray {
  readonly dims: readonly number[];
  /** The values as numbers (bytes stay 0..255: scaling is the caller's choice). */
  readonly data: Float32Array;
}

/** Type byte → element size and reader. */
const TYPES: Record<number, { size: number; read: (v: DataView, at: number) => number }> = {
  0x08: { size: 1, read: (v, at) => v.getUint8(at) },
  0x09: { size: 1, read: (v, at) => v.getInt8(at) },
  0x0b: { size: 2, read: (v, at) => v.getInt16(at, false) },
  0x0c: { size: 4, read: (v, at) => v.getInt32(at, false) },
  0x0d: { size: 4, read: (v, at) => v.getFloat32(at, false) },
  0x0e: { size: 8, read: (v, at) => v.getFloat64(at, false) },
};

/** Parses one IDX file's bytes (already gunzipped); `what` names it in errors. */
export function parseIdx(bytes: Uint8Array, what: string): IdxArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw dataError(`idx: ${what} is not an IDX file (it must start with two zero bytes)`);
  const type = TYPES[bytes[2] as number];
  if (!type) throw dataError(`idx: ${what} has unknown element type 0x${(bytes[2] as number).toString(16)}`);
  const rank = bytes[3] as number;
  const header = 4 + 4 * rank;
  if (rank < 1 || bytes.length < header) throw dataError(`idx: ${what} has a truncated header`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + count * type.size) {
    throw dataError(`idx: ${what} holds ${bytes.length - header} bytes of values, its header [${dims.join(', ')}] needs ${count * type.size}`);
  }
  const data = new Float32Array(count);
  if (type.size === 1 && bytes[2] === 0x08) data.set(bytes.subarray(header));
  else for (let i = 0; i < count; i++) data[i] = type.read(view, header + i * type.size);
  return { dims, data };
}

/** The path of `name` in dir, plain or gzipped, with the '-' or '.' spellings found in the wild; null if none. */
function findFile(dir: string, prefix: string, kind: 'images-idx3' | 'labels-idx1'): string | null {
  const dotted = kind.replace('-', '.');
  for (const base of [`${prefix}-${kind}-ubyte`, `${prefix}-${dotted}-ubyte`]) {
    for (const name of [base, `${base}.gz`]) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
  }
  return null;
}

function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
    if (path.endsWith('.gz')) bytes = gunzipSync(bytes);
  } catch (err) {
    throw dataError(`idx: cannot read ${path}: ${(err as Error).message}`);
  }
  return parseIdx(bytes, path);
}

/** One images/labels pair: images [n, ...shape] and n labels. */
function readPair(dir: string, prefix: string, images: string, labels: string): { x: Float32Array; y: Int32Array; shape: number[] } {
  const img = readIdxFile(images);
  const lab = readIdxFile(labels);
  if (img.dims.length < 2) throw dataError(`idx: ${images} must hold samples of at least one dimension, got dims [${img.dims.join(', ')}]`);
  if (lab.dims.length !== 1) throw dataError(`idx: ${labels} must be a 1-D array of labels, got dims [${lab.dims.join(', ')}]`);
  const n = img.dims[0] as number;
  if (lab.dims[0] !== n) throw dataError(`idx: ${dir}: ${prefix} has ${n} images but ${lab.dims[0]} labels`);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = lab.data[i] as number;
    if (!Number.isInteger(label) || label < 0) throw dataError(`idx: ${labels} label ${i} is ${label}; labels must be integers ≥ 0`);
    y[i] = label;
  }
  // Pixels are bytes: scaled to [0, 1] as the mnist loader's values are.
  const x = img.data;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) / 255;
  return { x, y, shape: img.dims.slice(1) };
}

const cache = new Map<string, RawData>();

/**
 * Reads an IDX directory as RawData: train pair first, then t10k (when both of its files exist), pixels / 255,
 * class names `classNames` or "0".."K−1". Read once per process and directory.
 */
export function readIdx(dir: string, options: { name?: string; classNames?: readonly string[]; missing?: string } = {}): RawData {
  const key = JSON.stringify([dir, options.name ?? null]);
  const hit = cache.get(key);
  if (hit) return hit;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw dataError(options.missing ?? `idx: ${dir} is not a directory; idx:DIR needs a directory of IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz])`);
  }
  const parts: { x: Float32Array; y: Int32Array; shape: number[] }[] = [];
  for (const prefix of ['train', 't10k']) {
    const images = findFile(dir, prefix, 'images-idx3');
    const labels = findFile(dir, prefix, 'labels-idx1');
    if (prefix === 'train' && (!images || !labels)) {
      throw dataError(options.missing ?? `idx: ${dir} has no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] pair`);
    }
    if (images && labels) parts.push(readPair(dir, prefix, images, labels));
  }
  const shape = (parts[0] as { shape: number[] }).shape;
  for (const p of parts) {
    if (p.shape.join('x') !== shape.join('x')) throw dataError(`idx: ${dir}: train images are [${shape.join(', ')}] but t10k images are [${p.shape.join(', ')}]`);
  }
  const count = parts.reduce((n, p) => n + p.y.length, 0);
  const size = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(count * size);
  const y = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * size);
    y.set(p.y, at);
    at += p.y.length;
  }
  const classes = y.reduce((m, v) => Math.max(m, v), 0) + 1;
  const classNames = options.classNames ?? Array.from({ length: classes }, (_, i) => String(i));
  if (classes > classNames.length) throw dataError(`idx: ${dir} has label ${classes - 1} but only ${classNames.length} class names`);
  const raw: RawData = { name: options.name ?? `idx:${dir}`, x, y, count, inputShape: shape, classNames: [...classNames], normalize: 'none' };
  cache.set(key, raw);
  return raw;
}

/** Fashion-MNIST from Debian's dataset-fashion-mnist package, with a clear error when it is not installed. */
export function readFashionMnist(dir = FASHION_MNIST_DIR): RawData {
  return readIdx(dir, {
    name: 'fashion-mnist',
    classNames: FASHION_MNIST_CLASSES,
    missing: `fashion-mnist: no IDX files in ${dir}; install Debian's package (sudo apt-get install dataset-fashion-mnist) or point data.ref at a directory of them with idx:DIR`,
  });
}
