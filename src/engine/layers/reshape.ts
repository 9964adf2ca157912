import { shapeError, specError } from '../errors.js';
import { int, type OnnxGraph } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, sizeOf, type Tensor } from '../tensor.js';
import type { Layer, LayerKind, Param } from './types.js';

export interface ReshapeSpec {
  readonly type: 'reshape';
  /** The per-sample output shape. */
  readonly shape: readonly number[];
  /**
   * false (default): the output holds exactly the input's values. true: the output may be larger and the tail is
   * zero padded (a flat vector cut into fixed-size tokens, the last one partly empty).
   */
  readonly pad?: boolean;
}

/** Relabels each sample's row-major values with a new shape, optionally zero padding the tail; no parameters. */
class Reshape implements Layer<ReshapeSpec> {
  readonly spec: Required<ReshapeSpec>;
  readonly outputShape: readonly number[];
  private readonly inSize: number;
  private readonly outSize: number;

  constructor(spec: ReshapeSpec, readonly inputShape: readonly number[]) {
    const shape = spec.shape;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw specError('reshape', `shape must be a non-empty list of positive integers, got ${JSON.stringify(shape)}`);
    }
    const pad = spec.pad ?? false;
    if (typeof pad !== 'boolean') throw specError('reshape', `pad must be a boolean, got ${JSON.stringify(pad)}`);
    this.spec = { type: 'reshape', shape: [...shape], pad };
    this.inSize = sizeOf(inputShape);
    this.outSize = sizeOf(shape);
    if (pad ? this.outSize < this.inSize : this.outSize !== this.inSize) {
      const want = pad ? `at most ${this.outSize} values` : `${this.outSize} values`;
      throw shapeError('reshape', `${want} to fit [${shape.join(', ')}]`, inputShape);
    }
    this.outputShape = [...shape];
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor): Tensor {
    expectSampleShape('reshape', x, this.inputShape);
    const batch = x.shape[0] as number;
    if (this.outSize === this.inSize) return { data: x.data, shape: [batch, ...this.outputShape] };
    const y = new Float32Array(batch * this.outSize);
    for (let b = 0; b < batch; b++) y.set(x.data.subarray(b * this.inSize, (b + 1) * this.inSize), b * this.outSize);
    return { data: y, shape: [batch, ...this.outputShape] };
  }

  /** The padded tail never reached the input, so its gradient is dropped. */
  backward(dy: Tensor): Tensor {
    const batch = dy.shape[0] as number;
    if (this.outSize === this.inSize) return { data: dy.data, shape: [batch, ...this.inputShape] };
    const dx = new Float32Array(batch * this.inSize);
    for (let b = 0; b < batch; b++) dx.set(dy.data.subarray(b * this.outSize, b * this.outSize + this.inSize), b * this.inSize);
    return { data: dx, shape: [batch, ...this.inputShape] };
  }
}

export const reshapeKind: LayerKind<ReshapeSpec> = {
  type: 'reshape',
  doc: 'Gives each sample a new shape over the same row-major values; with pad, a larger shape whose tail is zeros.',
  fields: [
    { name: 'shape', type: 'array', doc: 'per-sample output shape', required: true },
    { name: 'pad', type: 'boolean', doc: 'allow a larger output, zero padding the tail', default: false },
  ],
  create: (spec: ReshapeSpec, inputShape: readonly number[], _rng: Rng) => new Reshape(spec, inputShape),
  onnx: emitReshape,
  // LOOM has no such layer: written as the type alone, rebuilt from cfg.loomts
  loom: { type: 'reshape' },
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** Same values with a new shape; with pad, the flat sample is zero padded at its end first. */
function emitReshape(layer: Layer<ReshapeSpec>, x: string, g: OnnxGraph<Layer>): string {
  const inSize = sizeOf(layer.inputShape);
  const outSize = sizeOf(layer.outputShape);
  if (inSize === outSize) return g.reshape(x, layer.outputShape);
  const flat = g.op('Flatten', [x], { axis: int(1) });
  const padded = g.op('Pad', [flat, g.int64('pads', [0, 0, 0, outSize - inSize])]);
  return g.reshape(padded, layer.outputShape);
}
