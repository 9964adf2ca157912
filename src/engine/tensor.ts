import { shapeError } from './errors.js';

/**
 * A batched tensor: row-major float32 data and its shape, whose first dimension is always the batch.
 * Layers describe their shapes per sample (without the batch), so `shape = [batch, ...sampleShape]`.
 */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function tensor(shape: readonly number[], data?: Float32Array | readonly number[]): Tensor {
  const n = sizeOf(shape);
  const buf = data === undefined ? new Float32Array(n) : data instanceof Float32Array ? data : Float32Array.from(data);
  if (buf.length !== n) throw shapeError('tensor', `${n} values for shape [${shape.join(', ')}]`, [buf.length]);
  return { data: buf, shape: [...shape] };
}

export const batchOf = (t: Tensor): number => t.shape[0] as number;

export const sampleShape = (t: Tensor): number[] => t.shape.slice(1);

/** Number of values in one sample. */
export const sampleSize = (t: Tensor): number => sizeOf(t.shape.slice(1));

export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** Throws a shape error naming the layer unless the tensor's per-sample shape is `expected`. */
export function expectSampleShape(where: string, t: Tensor, expected: readonly number[]): void {
  if (!sameShape(t.shape.slice(1), expected)) throw shapeError(where, [...expected], t.shape.slice(1));
}

/**
 * `buf` itself when it holds exactly n floats, else a new zeroed array: for what a layer keeps from forward for its
 * backward (or uses inside one call) and never hands out, so that training does not allocate it again every step.
 * Callers overwrite every element before reading it.
 */
export const reuseBuffer = (buf: Float32Array, n: number): Float32Array => (buf.length === n ? buf : new Float32Array(n));
