import { specError } from '../errors.js';
import { emitIdentity } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { BilinearAugmentation } from './bilinear.js';
import type { LayerKind } from './types.js';

export interface RandomRotationSpec {
  readonly type: 'random_rotation';
  /** The largest rotation, in degrees; each sample draws its own angle uniformly in [−degrees, degrees]. */
  readonly degrees: number;
}

/**
 * Data augmentation by rotation: while training, each image (the last two axes are height and width; any axes before
 * them are channels) turns about its centre by an angle drawn per sample from the RunContext's seeded rng. Each output
 * pixel reads the input bilinearly at the point it came from, clamped to the image, so what comes in from outside
 * repeats the nearest edge pixel (as random_shift does). Evaluation is the identity (BilinearAugmentation).
 */
class RandomRotation extends BilinearAugmentation<RandomRotationSpec> {
  constructor(spec: RandomRotationSpec, inputShape: readonly number[]) {
    const degrees = spec.degrees;
    if (typeof degrees !== 'number' || !Number.isFinite(degrees) || degrees < 0 || degrees > 180) {
      throw specError('random_rotation', `degrees must be a number in [0, 180], got ${JSON.stringify(degrees)}`);
    }
    super({ type: 'random_rotation', degrees }, inputShape);
  }

  protected get moves(): boolean {
    return this.spec.degrees > 0;
  }

  /** Draws each sample's angle; for every output pixel, the point it came from: the output point turned back by the angle. */
  protected sourcePoints(samples: number, rng: Rng): Float64Array {
    const { height: h, width: w } = this.image;
    const points = new Float64Array(2 * samples * h * w);
    const cy = (h - 1) / 2;
    const cx = (w - 1) / 2;
    const maxRadians = (this.spec.degrees * Math.PI) / 180;
    let i = 0;
    for (let s = 0; s < samples; s++) {
      const angle = rng.uniform(-maxRadians, maxRadians);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          points[i++] = cy + cos * (r - cy) + sin * (c - cx);
          points[i++] = cx - sin * (r - cy) + cos * (c - cx);
        }
      }
    }
    return points;
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
