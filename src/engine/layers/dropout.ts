import { specError } from '../errors.js';
import { emitIdentity } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import type { Layer, LayerKind, Param, RunContext } from './types.js';

export interface DropoutSpec {
  readonly type: 'dropout';
  /** Probability that a value is zeroed while training, in [0, 1). */
  readonly rate: number;
}

/**
 * Inverted dropout: while training each value is kept with probability 1 − rate and scaled by 1/(1 − rate), so
 * the expected output equals the input and evaluation is the identity (no rescaling at inference). The mask is
 * drawn from the RunContext's seeded rng, so a training run is reproducible; backward reuses the forward's mask.
 */
class Dropout implements Layer<DropoutSpec> {
  readonly spec: DropoutSpec;
  readonly outputShape: readonly number[];
  /** The last training forward's per-value factor (0 or 1/(1 − rate)); empty after an evaluation forward. */
  private scale: Float32Array = new Float32Array(0);

  constructor(spec: DropoutSpec, readonly inputShape: readonly number[]) {
    const rate = spec.rate;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate >= 1) {
      throw specError('dropout', `rate must be a number in [0, 1), got ${JSON.stringify(rate)}`);
    }
    this.spec = { type: 'dropout', rate };
    this.outputShape = [...inputShape];
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('dropout', x, this.inputShape);
    const rate = this.spec.rate;
    if (!ctx.training || rate === 0) {
      this.scale = new Float32Array(0);
      return x;
    }
    const keep = 1 / (1 - rate);
    const n = x.data.length;
    const scale = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (ctx.rng.next() >= rate) {
        scale[i] = keep;
        y[i] = (x.data[i] as number) * keep;
      }
    }
    this.scale = scale;
    return { data: y, shape: x.shape };
  }

  backward(dy: Tensor): Tensor {
    // An evaluation forward (or rate 0) was the identity, so is its backward.
    if (this.scale.length === 0) return dy;
    const dx = new Float32Array(dy.data.length);
    for (let i = 0; i < dx.length; i++) dx[i] = (dy.data[i] as number) * (this.scale[i] as number);
    return { data: dx, shape: dy.shape };
  }
}

export const dropoutKind: LayerKind<DropoutSpec> = {
  type: 'dropout',
  doc: 'Inverted dropout: zeroes each value with probability rate while training and scales the rest by 1/(1 − rate); identity at evaluation.',
  fields: [{ name: 'rate', type: 'number', doc: 'probability of zeroing a value while training, in [0, 1)', required: true }],
  create: (spec: DropoutSpec, inputShape: readonly number[], _rng: Rng) => new Dropout(spec, inputShape),
  // The identity at inference, which is what an exported model runs.
  onnx: emitIdentity,
  // LOOM has no such layer: written as the type alone, rebuilt from cfg.loomts
  loom: { type: 'dropout' },
};
