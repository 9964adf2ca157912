import type { Rng } from '../rng.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import { imagePlanes, type ImagePlanes } from './image-planes.js';
import type { Layer, LayerSpec, Param, RunContext } from './types.js';

/**
 * Bilinear reads of a batch of images, for the augmentation layers that move pixels by fractions (random_rotation,
 * random_elastic): per sample and output pixel, the 4 input pixels it reads (indices within one plane) and their
 * weights, the same for every plane (channel) of the sample.
 */
export interface BilinearTaps {
  readonly samples: number;
  readonly taps: Int32Array;
  readonly weights: Float32Array;
}

/**
 * The taps that read output pixel (r, c) of sample s at the source point y = points[2i], x = points[2i + 1], where
 * i = (s·height + r)·width + c. The point is clamped to the image, so what comes from outside repeats the nearest
 * edge pixel.
 */
export function bilinearTaps(image: ImagePlanes, samples: number, points: Float64Array): BilinearTaps {
  const { height: h, width: w } = image;
  const n = samples * h * w;
  const taps = new Int32Array(4 * n);
  const weights = new Float32Array(4 * n);
  const clamp = (v: number, hi: number): number => (v < 0 ? 0 : v > hi ? hi : v);
  for (let i = 0; i < n; i++) {
    const fy = clamp(points[2 * i] as number, h - 1);
    const fx = clamp(points[2 * i + 1] as number, w - 1);
    const y0 = Math.min(Math.floor(fy), h - 1);
    const x0 = Math.min(Math.floor(fx), w - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const x1 = Math.min(x0 + 1, w - 1);
    const ty = fy - y0;
    const tx = fx - x0;
    const t = 4 * i;
    taps[t] = y0 * w + x0;
    taps[t + 1] = y0 * w + x1;
    taps[t + 2] = y1 * w + x0;
    taps[t + 3] = y1 * w + x1;
    weights[t] = (1 - ty) * (1 - tx);
    weights[t + 1] = (1 - ty) * tx;
    weights[t + 2] = ty * (1 - tx);
    weights[t + 3] = ty * tx;
  }
  return { samples, taps, weights };
}

/** Every plane of every sample of `x` read through its sample's taps. */
export function resample(image: ImagePlanes, t: BilinearTaps, x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  eachTap(image, t, (to, from, weight) => {
    y[to] = (y[to] as number) + weight * (x[from] as number);
  });
  return y;
}

/** The adjoint of `resample`: each output gradient goes back to the 4 pixels it was read from, with the same weights. */
export function resampleAdjoint(image: ImagePlanes, t: BilinearTaps, dy: Float32Array): Float32Array {
  const dx = new Float32Array(dy.length);
  eachTap(image, t, (to, from, weight) => {
    dx[from] = (dx[from] as number) + weight * (dy[to] as number);
  });
  return dx;
}

/** Calls `visit(outputIndex, inputIndex, weight)` for every tap, in every plane of every sample. */
function eachTap(image: ImagePlanes, t: BilinearTaps, visit: (to: number, from: number, weight: number) => void): void {
  const { taps, weights, samples } = t;
  const { planes, height, width } = image;
  const area = height * width;
  for (let s = 0; s < samples; s++) {
    for (let p = 0; p < planes; p++) {
      const base = (s * planes + p) * area;
      for (let o = 0; o < area; o++) {
        const k0 = 4 * (s * area + o);
        for (let k = 0; k < 4; k++) visit(base + o, base + (taps[k0 + k] as number), weights[k0 + k] as number);
      }
    }
  }
}

/**
 * An augmentation layer that moves pixels by fractions (random_rotation, random_elastic): while training, output
 * pixel (r, c) of each image reads the input bilinearly at a source point drawn for its sample (`sourcePoints`),
 * the same for every plane (channel); evaluation is the identity, so a model file runs it as nothing. Backward sends
 * each gradient to the 4 input pixels it was read from, with the same weights.
 */
export abstract class BilinearAugmentation<S extends LayerSpec> implements Layer<S> {
  readonly outputShape: readonly number[];
  protected readonly image: ImagePlanes;
  /** The last training forward's taps; null after an evaluation forward (the identity). */
  private taps: BilinearTaps | null = null;

  constructor(readonly spec: S, readonly inputShape: readonly number[]) {
    this.image = imagePlanes(spec.type, inputShape);
    this.outputShape = [...inputShape];
  }

  /** False when the spec moves nothing (0 degrees, α 0): training is the identity too. */
  protected abstract get moves(): boolean;

  /** Draws what `samples` images need from `rng`; the source point of every output pixel (y, x pairs, bilinearTaps' layout). */
  protected abstract sourcePoints(samples: number, rng: Rng): Float64Array;

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape(this.spec.type, x, this.inputShape);
    if (!ctx.training || !this.moves) {
      this.taps = null;
      return x;
    }
    const samples = x.shape[0] as number;
    this.taps = bilinearTaps(this.image, samples, this.sourcePoints(samples, ctx.rng));
    return { data: resample(this.image, this.taps, x.data), shape: x.shape };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    // An evaluation forward (or one that moves nothing) was the identity, so is its backward.
    if (this.taps === null) return dy;
    if (ctx.inputGrad === false) return { data: new Float32Array(dy.data.length), shape: dy.shape };
    return { data: resampleAdjoint(this.image, this.taps, dy.data), shape: dy.shape };
  }
}
