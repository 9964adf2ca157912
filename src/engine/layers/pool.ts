import { shapeError, specError } from '../errors.js';
import { int, ints, type OnnxGraph } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, sizeOf, type Tensor } from '../tensor.js';
import { maxPool2x2Js } from '../backend/cpu-pool.js';
import type { Layer, LayerKind, Param, RunContext } from './types.js';

export const POOL_MODES = ['mean', 'max'] as const;
export type PoolMode = (typeof POOL_MODES)[number];

export interface PoolSpec {
  readonly type: 'pool';
  readonly mode?: PoolMode;
  /**
   * Window = stride. [C, H, W]: size×size windows over H and W → [C, ⌊H/size⌋, ⌊W/size⌋].
   * [seq, d] or [seq]: windows along the first axis → [⌊seq/size⌋, d].
   * Omitted: global pooling over those axes ([C, H, W] → [C], [seq, d] → [d], [seq] → [1]).
   */
  readonly size?: number;
}

interface Windows {
  readonly outputShape: number[];
  /** windowLength input offsets (within a sample) per output value, output-major. */
  readonly offsets: Int32Array;
  readonly windowLength: number;
}

/** The input offsets each output value reduces, computed once per layer so forward/backward are one generic loop. */
function buildWindows(inputShape: readonly number[], size: number | undefined): Windows {
  if (inputShape.length === 3) {
    const [c, h, w] = inputShape as [number, number, number];
    const [sh, sw] = size === undefined ? [h, w] : [size, size];
    const oh = Math.floor(h / sh);
    const ow = Math.floor(w / sw);
    if (oh < 1 || ow < 1) throw shapeError('pool', `[channels, height ≥ ${sh}, width ≥ ${sw}] for size ${size}`, inputShape);
    const offsets = new Int32Array(c * oh * ow * sh * sw);
    let n = 0;
    for (let ci = 0; ci < c; ci++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++)
          for (let i = 0; i < sh; i++) for (let j = 0; j < sw; j++) offsets[n++] = (ci * h + y * sh + i) * w + x * sw + j;
    return { outputShape: size === undefined ? [c] : [c, oh, ow], offsets, windowLength: sh * sw };
  }
  if (inputShape.length === 1 || inputShape.length === 2) {
    const seq = inputShape[0] as number;
    const d = inputShape.length === 2 ? (inputShape[1] as number) : 1;
    const s = size ?? seq;
    const outSeq = Math.floor(seq / s);
    if (outSeq < 1) throw shapeError('pool', `a first axis of length ≥ ${s} for size ${size}`, inputShape);
    const offsets = new Int32Array(outSeq * d * s);
    let n = 0;
    for (let t = 0; t < outSeq; t++) for (let j = 0; j < d; j++) for (let i = 0; i < s; i++) offsets[n++] = (t * s + i) * d + j;
    const outputShape = size === undefined ? (inputShape.length === 2 ? [d] : [1]) : inputShape.length === 2 ? [outSeq, d] : [outSeq];
    return { outputShape, offsets, windowLength: s };
  }
  throw shapeError('pool', '[channels, height, width], [seq, features] or [seq]', inputShape);
}

/** Mean or max pooling over non-overlapping windows; max routes each gradient to its window's argmax. */
class Pool implements Layer<PoolSpec> {
  readonly spec: PoolSpec;
  readonly outputShape: readonly number[];
  private readonly windows: Windows;
  private readonly inSize: number;
  private readonly outSize: number;
  /** For max: the input index (batch-absolute) that won each output value in the last forward. */
  private argmax: Int32Array = new Int32Array(0);
  /** [C, H, W] max pooling with 2×2 windows, the conv stems' case: a backend kernel (or its reference) instead of the window loop. */
  private readonly maxPool2x2Planes: { readonly channels: number; readonly h: number; readonly w: number } | null;

  constructor(spec: PoolSpec, readonly inputShape: readonly number[]) {
    const mode = spec.mode ?? 'mean';
    if (!(POOL_MODES as readonly string[]).includes(mode)) {
      throw specError('pool', `unknown mode "${String(mode)}" (known: ${POOL_MODES.join(', ')})`);
    }
    const size = spec.size;
    if (size !== undefined && !(typeof size === 'number' && Number.isInteger(size) && size >= 1)) {
      throw specError('pool', `size must be a positive integer (or omitted for global pooling), got ${JSON.stringify(size)}`);
    }
    this.spec = size === undefined ? { type: 'pool', mode } : { type: 'pool', mode, size };
    this.windows = buildWindows(inputShape, size);
    this.outputShape = this.windows.outputShape;
    this.inSize = sizeOf(inputShape);
    this.outSize = sizeOf(this.outputShape);
    const [channels, h, w] = inputShape;
    this.maxPool2x2Planes =
      mode === 'max' && size === 2 && channels !== undefined && h !== undefined && w !== undefined && inputShape.length === 3 ? { channels, h, w } : null;
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('pool', x, this.inputShape);
    const batch = x.shape[0] as number;
    const { offsets, windowLength: len } = this.windows;
    const y = new Float32Array(batch * this.outSize);
    const xd = x.data;
    const outSize = this.outSize;
    if (this.spec.mode === 'max') {
      // argmax stays inside the layer (backward reads the latest forward's): its array is reused across steps.
      const argmax = this.argmax.length === y.length ? this.argmax : new Int32Array(y.length);
      this.argmax = argmax;
      const planes = this.maxPool2x2Planes;
      if (planes) (ctx.backend.maxPool2x2 ?? maxPool2x2Js)({ x: xd, y, argmax, planes: batch * planes.channels, h: planes.h, w: planes.w });
      else for (let b = 0; b < batch; b++) {
        const base = b * this.inSize;
        for (let o = 0; o < outSize; o++) {
          const w = o * len;
          let best = base + (offsets[w] as number);
          let bestValue = xd[best] as number;
          for (let i = 1; i < len; i++) {
            const idx = base + (offsets[w + i] as number);
            const v = xd[idx] as number;
            // Selects rather than branches: which element of a window is largest is a coin toss the branch
            // predictor loses half the time. Ties keep the first, NaN never wins, as before.
            const larger = v > bestValue;
            best = larger ? idx : best;
            bestValue = larger ? v : bestValue;
          }
          y[b * outSize + o] = bestValue;
          argmax[b * outSize + o] = best;
        }
      }
    } else {
      for (let b = 0; b < batch; b++) {
        const base = b * this.inSize;
        for (let o = 0; o < outSize; o++) {
          const w = o * len;
          let sum = 0;
          for (let i = 0; i < len; i++) sum += xd[base + (offsets[w + i] as number)] as number;
          y[b * outSize + o] = sum / len;
        }
      }
    }
    return { data: y, shape: [batch, ...this.outputShape] };
  }

  backward(dy: Tensor): Tensor {
    const batch = dy.shape[0] as number;
    const dx = new Float32Array(batch * this.inSize);
    const { offsets, windowLength: len } = this.windows;
    if (this.spec.mode === 'max') {
      for (let o = 0; o < dy.data.length; o++) {
        const idx = this.argmax[o] as number;
        dx[idx] = (dx[idx] as number) + (dy.data[o] as number);
      }
    } else {
      for (let b = 0; b < batch; b++) {
        const base = b * this.inSize;
        for (let o = 0; o < this.outSize; o++) {
          const g = (dy.data[b * this.outSize + o] as number) / len;
          for (let i = 0; i < len; i++) dx[base + (offsets[o * len + i] as number)] += g;
        }
      }
    }
    return { data: dx, shape: [batch, ...this.inputShape] };
  }
}

export const poolKind: LayerKind<PoolSpec> = {
  type: 'pool',
  doc: 'Mean or max pooling: size×size windows over [C, H, W], windows along the first axis of [seq, d], or global when size is omitted.',
  fields: [
    { name: 'mode', type: 'enum', doc: 'reduction over each window', values: POOL_MODES, default: 'mean' },
    { name: 'size', type: 'integer', doc: 'window and stride; omit for global pooling ([C,H,W] → [C], [seq,d] → [d])' },
  ],
  create: (spec: PoolSpec, inputShape: readonly number[], _rng: Rng) => new Pool(spec, inputShape),
  onnx: emitPool,
  // LOOM has no such layer: written as the type alone, rebuilt from cfg.loomts
  loom: { type: 'pool' },
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/**
 * Loom's non-overlapping pooling (window = stride, floor of the remainder): [C, H, W] with AveragePool/MaxPool,
 * [seq, d] and [seq] windows along the first axis as 1-D pooling over a transposed view, global pooling as a
 * reduction over those axes.
 */
function emitPool(layer: Layer<PoolSpec>, x: string, g: OnnxGraph<Layer>): string {
  const max = (layer.spec.mode ?? 'mean') === 'max';
  const size = layer.spec.size;
  const shape = layer.inputShape;
  const reduce = (axes: number[], keep: number): string => g.op(max ? 'ReduceMax' : 'ReduceMean', [x], { axes: ints(axes), keepdims: int(keep) });
  const pool = (input: string, kernel: number[]): string =>
    g.op(max ? 'MaxPool' : 'AveragePool', [input], { kernel_shape: ints(kernel), strides: ints(kernel) });
  if (shape.length === 3) {
    return size === undefined ? reduce([2, 3], 0) : pool(x, [size, size]);
  }
  if (shape.length === 2) {
    if (size === undefined) return reduce([1], 0);
    return g.transpose(pool(g.transpose(x, [0, 2, 1]), [size]), [0, 2, 1]);
  }
  if (size === undefined) return reduce([1], 1);
  const pooled = pool(g.op('Unsqueeze', [x, g.int64('axes', [1])]), [size]);
  return g.reshape(pooled, layer.outputShape);
}
