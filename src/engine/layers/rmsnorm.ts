import { specError } from '../errors.js';
import { int, ints, type OnnxGraph } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, sizeOf, type Tensor } from '../tensor.js';
import { weightField } from '../io/loom-codec.js';
import { normLoom } from './layernorm.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface RmsNormSpec {
  readonly type: 'rms_norm';
  /** Added to the mean square before the square root. */
  readonly epsilon?: number;
}

/** y = γ·x/√(mean(x²) + ε) over the last axis; γ starts at 1. Backward is exact (LOOM's top-level one was missing). */
class RmsNorm implements Layer<RmsNormSpec> {
  readonly spec: Required<RmsNormSpec>;
  readonly outputShape: readonly number[];
  readonly gamma: Param;
  private readonly width: number;
  private x: Float32Array = new Float32Array(0);
  /** 1/√(mean(x²) + ε) per row. */
  private invRms: Float32Array = new Float32Array(0);

  constructor(spec: RmsNormSpec, readonly inputShape: readonly number[]) {
    const epsilon = spec.epsilon ?? 1e-6;
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw specError('rms_norm', `epsilon must be a positive number, got ${epsilon}`);
    this.spec = { type: 'rms_norm', epsilon };
    if (inputShape.length === 0 || sizeOf(inputShape) === 0) throw specError('rms_norm', `input shape [${inputShape.join(', ')}] has nothing to normalize`);
    this.width = inputShape[inputShape.length - 1] as number;
    this.outputShape = [...inputShape];
    this.gamma = makeParam('gamma', [this.width], new Float32Array(this.width).fill(1));
  }

  params(): Param[] {
    return [this.gamma];
  }

  forward(x: Tensor, _ctx: RunContext): Tensor {
    expectSampleShape('rms_norm', x, this.inputShape);
    const d = this.width;
    const rows = x.data.length / d;
    const invRms = new Float32Array(rows);
    const y = new Float32Array(x.data.length);
    const g = this.gamma.value;
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      let meanSquare = 0;
      for (let i = 0; i < d; i++) meanSquare += (x.data[o + i] as number) ** 2;
      const inv = 1 / Math.sqrt(meanSquare / d + this.spec.epsilon);
      invRms[r] = inv;
      for (let i = 0; i < d; i++) y[o + i] = (g[i] as number) * (x.data[o + i] as number) * inv;
    }
    this.x = x.data;
    this.invRms = invRms;
    return { data: y, shape: [...x.shape] };
  }

  backward(dy: Tensor, _ctx: RunContext): Tensor {
    const d = this.width;
    const rows = this.invRms.length;
    const dx = new Float32Array(dy.data.length);
    const g = this.gamma.value;
    const dg = this.gamma.grad;
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      const inv = this.invRms[r] as number;
      // dx = inv·ĝ − x·inv³·mean(ĝ·x) with ĝ = dy·γ
      let meanGX = 0;
      for (let i = 0; i < d; i++) {
        const gy = dy.data[o + i] as number;
        const xi = this.x[o + i] as number;
        dg[i] = (dg[i] as number) + gy * xi * inv;
        meanGX += gy * (g[i] as number) * xi;
      }
      meanGX /= d;
      const inv3 = inv * inv * inv;
      for (let i = 0; i < d; i++) {
        dx[o + i] = inv * (dy.data[o + i] as number) * (g[i] as number) - (this.x[o + i] as number) * inv3 * meanGX;
      }
    }
    return { data: dx, shape: [...dy.shape] };
  }
}

export const rmsNormKind: LayerKind<RmsNormSpec> = {
  type: 'rms_norm',
  doc: 'RMS normalization over the last axis: γ·x/√(mean(x²) + ε), γ=1 at init.',
  fields: [{ name: 'epsilon', type: 'number', doc: 'added to the mean square for stability', default: 1e-6 }],
  create: (spec: RmsNormSpec, inputShape: readonly number[], _rng: Rng) => new RmsNorm(spec, inputShape),
  onnx: emitRmsNorm,
  loom: { ...normLoom<RmsNormSpec>('rms_norm', 'rmsnorm'), weights: () => [weightField('gamma', 'gamma', false, { missing: 1 })] },
  tweenRate: 0.1,
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** γ·x/√(mean(x²) + ε) over the last axis. */
function emitRmsNorm(layer: Layer<RmsNormSpec>, x: string, g: OnnxGraph<Layer>): string {
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: ints([-1]), keepdims: int(1) });
  const rms = g.op('Sqrt', [g.op('Add', [meanSquare, g.scalar('rms_eps', layer.spec.epsilon ?? 1e-6)])]);
  return g.op('Mul', [g.op('Div', [x, rms]), g.param(g.paramOf(layer, 'gamma'))]);
}
