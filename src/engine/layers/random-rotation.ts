import { specError } from '../errors.js';
import { emitIdentity } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { imagePlanes, type ImagePlanes } from './image-planes.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import type { Layer, LayerKind, Param, RunContext } from './types.js';

export interface RandomRotationSpec {
  readonly type: 'random_rotation';
  /** The largest rotation, in degrees; each sample draws its own angle uniformly in [−degrees, degrees]. */
  readonly degrees: number;
}

/**
 * Data augmentation by rotation: while training, each image (the last two axes are height and width; any axes before
 * them are channels) turns about its centre by an angle drawn per sample from the RunContext's seeded rng. Each output
 * pixel reads the input bilinearly at the point it came from, clamped to the image, so what comes in from outside
 * repeats the nearest edge pixel (as random_shift does). Evaluation is the identity, so a model file runs it as
 * nothing. Backward sends each output gradient to the four input pixels it was read from, with the same weights.
 */
class RandomRotation implements Layer<RandomRotationSpec> {
  readonly spec: RandomRotationSpec;
  readonly outputShape: readonly number[];
  private readonly image: ImagePlanes;
  /** The last training forward's taps: per sample and output pixel, 4 input pixel indices within a plane. */
  private taps: Int32Array = new Int32Array(0);
  /** Their bilinear weights, in the same order. */
  private weights: Float32Array = new Float32Array(0);

  constructor(spec: RandomRotationSpec, readonly inputShape: readonly number[]) {
    const degrees = spec.degrees;
    if (typeof degrees !== 'number' || !Number.isFinite(degrees) || degrees < 0 || degrees > 180) {
      throw specError('random_rotation', `degrees must be a number in [0, 180], got ${JSON.stringify(degrees)}`);
    }
    this.image = imagePlanes('random_rotation', inputShape);
    this.spec = { type: 'random_rotation', degrees };
    this.outputShape = [...inputShape];
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('random_rotation', x, this.inputShape);
    if (!ctx.training || this.spec.degrees === 0) {
      this.taps = new Int32Array(0);
      return x;
    }
    const samples = x.shape[0] as number;
    this.drawTaps(samples, ctx.rng);
    const y = new Float32Array(x.data.length);
    this.eachTap(samples, (to, from, weight) => {
      y[to] = (y[to] as number) + weight * (x.data[from] as number);
    });
    return { data: y, shape: x.shape };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    // An evaluation forward (or degrees 0) was the identity, so is its backward.
    if (this.taps.length === 0) return dy;
    const dx = new Float32Array(dy.data.length);
    if (ctx.inputGrad === false) return { data: dx, shape: dy.shape };
    this.eachTap(dy.shape[0] as number, (to, from, weight) => {
      dx[from] = (dx[from] as number) + weight * (dy.data[to] as number);
    });
    return { data: dx, shape: dy.shape };
  }

  /** Calls `visit(outputIndex, inputIndex, weight)` for every tap of the last training forward, in every plane. */
  private eachTap(samples: number, visit: (to: number, from: number, weight: number) => void): void {
    const { taps, weights } = this;
    const { planes, height, width } = this.image;
    const area = height * width;
    for (let s = 0; s < samples; s++) {
      for (let p = 0; p < planes; p++) {
        const base = (s * planes + p) * area;
        for (let o = 0; o < area; o++) {
          const t = 4 * (s * area + o);
          for (let k = 0; k < 4; k++) visit(base + o, base + (taps[t + k] as number), weights[t + k] as number);
        }
      }
    }
  }

  /** Draws each sample's angle and records, for every output pixel, the 4 input pixels and weights it reads. */
  private drawTaps(samples: number, rng: Rng): void {
    const { height: h, width: w } = this.image;
    const area = h * w;
    const taps = new Int32Array(4 * samples * area);
    const weights = new Float32Array(4 * samples * area);
    const cy = (h - 1) / 2;
    const cx = (w - 1) / 2;
    const clamp = (v: number, hi: number): number => (v < 0 ? 0 : v > hi ? hi : v);
    const maxRadians = (this.spec.degrees * Math.PI) / 180;
    for (let s = 0; s < samples; s++) {
      const angle = rng.uniform(-maxRadians, maxRadians);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          // The point this output pixel came from: the output point turned back by the angle.
          const fy = clamp(cy + cos * (r - cy) + sin * (c - cx), h - 1);
          const fx = clamp(cx - sin * (r - cy) + cos * (c - cx), w - 1);
          const y0 = Math.min(Math.floor(fy), h - 1);
          const x0 = Math.min(Math.floor(fx), w - 1);
          const y1 = Math.min(y0 + 1, h - 1);
          const x1 = Math.min(x0 + 1, w - 1);
          const ty = fy - y0;
          const tx = fx - x0;
          const t = 4 * (s * area + r * w + c);
          taps[t] = y0 * w + x0;
          taps[t + 1] = y0 * w + x1;
          taps[t + 2] = y1 * w + x0;
          taps[t + 3] = y1 * w + x1;
          weights[t] = (1 - ty) * (1 - tx);
          weights[t + 1] = (1 - ty) * tx;
          weights[t + 2] = ty * (1 - tx);
          weights[t + 3] = ty * tx;
        }
      }
    }
    this.taps = taps;
    this.weights = weights;
  }
}

export const randomRotationKind: LayerKind<RandomRotationSpec> = {
  type: 'random_rotation',
  doc: 'Augmentation: while training, rotates each image about its centre by up to `degrees` (bilinear, edge pixels repeat); identity at evaluation.',
  fields: [{ name: 'degrees', type: 'number', doc: 'largest rotation either way while training, in [0, 180] degrees', required: true }],
  create: (spec: RandomRotationSpec, inputShape: readonly number[], _rng: Rng) => new RandomRotation(spec, inputShape),
  // The identity at inference, which is what an exported model runs.
  onnx: emitIdentity,
  // LOOM has no such layer: written as the type alone, rebuilt from cfg.loomts
  loom: { type: 'random_rotation' },
};
