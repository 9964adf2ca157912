import { specError } from '../errors.js';
import { emitIdentity } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { imagePlanes, type ImagePlanes } from './image-planes.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import type { Layer, LayerKind, Param, RunContext } from './types.js';

export interface RandomShiftSpec {
  readonly type: 'random_shift';
  /** The largest shift, in pixels, along each of the two image axes; each sample draws its own in [−pixels, pixels]. */
  readonly pixels: number;
}

/**
 * Data augmentation by translation: while training, each image (the last two axes are height and width; any axes
 * before them are channels) moves by a whole number of pixels along each axis, drawn per sample from the RunContext's
 * seeded rng; pixels that come in from outside the image repeat the nearest edge pixel, so an image whose border is
 * background (MNIST's zeros, or a standardized image's background value) gets more background. Evaluation is the
 * identity, so a model file runs it as nothing. Backward sends each output gradient to the input pixel it was copied
 * from (edge pixels collect the gradients of their copies).
 */
class RandomShift implements Layer<RandomShiftSpec> {
  readonly spec: RandomShiftSpec;
  readonly outputShape: readonly number[];
  private readonly image: ImagePlanes;
  /** The last training forward's per-sample (rows, cols) shifts; empty after an evaluation forward. */
  private shifts: Int32Array = new Int32Array(0);

  constructor(spec: RandomShiftSpec, readonly inputShape: readonly number[]) {
    const pixels = spec.pixels;
    if (typeof pixels !== 'number' || !Number.isInteger(pixels) || pixels < 0 || pixels > 64) {
      throw specError('random_shift', `pixels must be an integer in [0, 64], got ${JSON.stringify(pixels)}`);
    }
    this.image = imagePlanes('random_shift', inputShape);
    this.spec = { type: 'random_shift', pixels };
    this.outputShape = [...inputShape];
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('random_shift', x, this.inputShape);
    const pixels = this.spec.pixels;
    if (!ctx.training || pixels === 0) {
      this.shifts = new Int32Array(0);
      return x;
    }
    const samples = x.shape[0] as number;
    const shifts = new Int32Array(2 * samples);
    for (let i = 0; i < shifts.length; i++) shifts[i] = ctx.rng.int(2 * pixels + 1) - pixels;
    this.shifts = shifts;
    const y = new Float32Array(x.data.length);
    this.eachCopy(samples, (to, from) => {
      y[to] = x.data[from] as number;
    });
    return { data: y, shape: x.shape };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    // An evaluation forward (or pixels 0) was the identity, so is its backward.
    if (this.shifts.length === 0) return dy;
    const dx = new Float32Array(dy.data.length);
    if (ctx.inputGrad === false) return { data: dx, shape: dy.shape };
    this.eachCopy(dy.shape[0] as number, (to, from) => {
      dx[from] = (dx[from] as number) + (dy.data[to] as number);
    });
    return { data: dx, shape: dy.shape };
  }

  /** Calls `copy(outputIndex, inputIndex)` for every value of the last training forward's shifted images. */
  private eachCopy(samples: number, copy: (to: number, from: number) => void): void {
    const { planes, height: h, width: w } = this.image;
    const clamp = (v: number, n: number): number => (v < 0 ? 0 : v >= n ? n - 1 : v);
    for (let s = 0; s < samples; s++) {
      const dr = this.shifts[2 * s] as number;
      const dc = this.shifts[2 * s + 1] as number;
      for (let p = 0; p < planes; p++) {
        const base = (s * planes + p) * h * w;
        for (let r = 0; r < h; r++) {
          const rowFrom = base + clamp(r - dr, h) * w;
          const rowTo = base + r * w;
          for (let c = 0; c < w; c++) copy(rowTo + c, rowFrom + clamp(c - dc, w));
        }
      }
    }
  }
}

export const randomShiftKind: LayerKind<RandomShiftSpec> = {
  type: 'random_shift',
  doc: 'Augmentation: while training, shifts each image by up to `pixels` along height and width (edge pixels repeat); identity at evaluation.',
  fields: [{ name: 'pixels', type: 'integer', doc: 'largest shift along each image axis while training, in [0, 64]', required: true }],
  create: (spec: RandomShiftSpec, inputShape: readonly number[], _rng: Rng) => new RandomShift(spec, inputShape),
  // The identity at inference, which is what an exported model runs.
  onnx: emitIdentity,
  // LOOM has no such layer: written as the type alone, rebuilt from cfg.loomts
  loom: { type: 'random_shift' },
};
