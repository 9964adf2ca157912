import { specError } from '../errors.js';
import { emitIdentity } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { BilinearAugmentation } from './bilinear.js';
import type { LayerKind } from './types.js';

export interface RandomElasticSpec {
  readonly type: 'random_elastic';
  /** How far the smoothed random field moves pixels (Simard et al.'s α), in pixels per unit of the field. */
  readonly alpha: number;
  /** The Gaussian's standard deviation that smooths the field (σ), in pixels: larger, the more the image bends as a whole. */
  readonly sigma: number;
}

/**
 * Data augmentation by elastic distortion (Simard, Steinkraus and Platt 2003): while training, each image (last two
 * axes height × width, any before them channels) is warped by its own random displacement field: every pixel draws a
 * displacement uniformly in [−1, 1] along each axis from the RunContext's seeded rng (per sample, pixel by pixel in
 * row order, y then x), each field is smoothed by a Gaussian of σ pixels (zero outside the image, the kernel cut at
 * 3σ and summing to 1) and scaled by α. Output pixel (r, c) reads the input bilinearly at (r + α·dy, c + α·dx),
 * clamped, so what comes from outside repeats the nearest edge pixel. Evaluation is the identity (BilinearAugmentation).
 */
class RandomElastic extends BilinearAugmentation<RandomElasticSpec> {
  /** The Gaussian's taps from −radius to radius, summing to 1. */
  private readonly kernel: Float64Array;

  constructor(spec: RandomElasticSpec, inputShape: readonly number[]) {
    const { alpha, sigma } = spec;
    if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0 || alpha > 1000) {
      throw specError('random_elastic', `alpha must be a number of pixels in [0, 1000], got ${JSON.stringify(alpha)}`);
    }
    if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0.1 || sigma > 100) {
      throw specError('random_elastic', `sigma must be a number of pixels in [0.1, 100], got ${JSON.stringify(sigma)}`);
    }
    super({ type: 'random_elastic', alpha, sigma }, inputShape);
    this.kernel = gaussianKernel(sigma);
  }

  protected get moves(): boolean {
    return this.spec.alpha > 0;
  }

  /** Draws each sample's displacement field, smooths and scales it; for every output pixel, the point it reads. */
  protected sourcePoints(samples: number, rng: Rng): Float64Array {
    const { height: h, width: w } = this.image;
    const area = h * w;
    const points = new Float64Array(2 * samples * area);
    const dy = new Float64Array(area);
    const dx = new Float64Array(area);
    const scratch = new Float64Array(area);
    const line = new Float64Array(Math.max(h, w) + this.kernel.length - 1);
    const { alpha } = this.spec;
    for (let s = 0; s < samples; s++) {
      // Pixel by pixel in row order, y then x: the order the layer's doc promises.
      for (let i = 0; i < area; i++) {
        dy[i] = rng.uniform(-1, 1);
        dx[i] = rng.uniform(-1, 1);
      }
      smooth(dy, h, w, this.kernel, scratch, line);
      smooth(dx, h, w, this.kernel, scratch, line);
      const base = 2 * s * area;
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          const i = r * w + c;
          points[base + 2 * i] = r + alpha * (dy[i] as number);
          points[base + 2 * i + 1] = c + alpha * (dx[i] as number);
        }
      }
    }
    return points;
  }
}

/** A Gaussian of standard deviation `sigma` sampled at the whole numbers within 3σ, scaled to sum to 1. */
function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) sum += kernel[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let k = 0; k < kernel.length; k++) kernel[k] = (kernel[k] as number) / sum;
  return kernel;
}

/** Smooths the h × w `field` in place by the separable `kernel`, rows then columns, zero outside the image. */
function smooth(field: Float64Array, h: number, w: number, kernel: Float64Array, scratch: Float64Array, line: Float64Array): void {
  convolveLines(field, scratch, h, w, w, 1, kernel, line);
  convolveLines(scratch, field, w, h, 1, w, kernel, line);
}

/**
 * Convolves `lines` lines of `length` values of `from` (line i starts at i·lineStep, its values `step` apart) with
 * `kernel` into the same places of `to`, zero beyond each line's ends: each line is copied into the middle of `line`
 * (zeros on both sides), so the sums need no bounds.
 */
function convolveLines(from: Float64Array, to: Float64Array, lines: number, length: number, lineStep: number, step: number, kernel: Float64Array, line: Float64Array): void {
  const taps = kernel.length;
  const radius = (taps - 1) / 2;
  line.fill(0);
  for (let i = 0; i < lines; i++) {
    const start = i * lineStep;
    for (let j = 0; j < length; j++) line[radius + j] = from[start + j * step] as number;
    for (let j = 0; j < length; j++) {
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += (kernel[k] as number) * (line[j + k] as number);
      to[start + j * step] = acc;
    }
  }
}

export const randomElasticKind: LayerKind<RandomElasticSpec> = {
  type: 'random_elastic',
  doc: 'Augmentation: while training, warps each image by a random displacement field smoothed by a Gaussian of `sigma` pixels and scaled by `alpha` (bilinear, edge pixels repeat); identity at evaluation.',
  fields: [
    { name: 'alpha', type: 'number', doc: 'scale of the smoothed displacement field, in [0, 1000] pixels', required: true },
    { name: 'sigma', type: 'number', doc: 'standard deviation of the Gaussian that smooths the field, in [0.1, 100] pixels', required: true },
  ],
  create: (spec: RandomElasticSpec, inputShape: readonly number[], _rng: Rng) => new RandomElastic(spec, inputShape),
  // The identity at inference, which is what an exported model runs.
  onnx: emitIdentity,
  // LOOM has no such layer: written as the type alone, rebuilt from cfg.loomts
  loom: { type: 'random_elastic' },
};
