import { specError } from '../errors.js';
import { float, int, type OnnxGraph } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, reuseBuffer, sizeOf, type Tensor } from '../tensor.js';
import { intField, numField, requireInt, rowsOf, weightField, type LoomCodec } from '../io/loom-codec.js';
import { layerNormBackwardJs, layerNormJs } from '../backend/cpu-layernorm.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface LayerNormSpec {
  readonly type: 'layer_norm';
  /** Added to the variance before the square root. */
  readonly epsilon?: number;
}

/**
 * y = γ·(x − μ)/√(σ² + ε) + β over the last axis, with the population variance; γ starts at 1, β at 0.
 * Unlike LOOM, the backward is always exact and there is no hidden residual added to x.
 */
class LayerNorm implements Layer<LayerNormSpec> {
  readonly spec: Required<LayerNormSpec>;
  readonly outputShape: readonly number[];
  readonly gamma: Param;
  readonly beta: Param;
  private readonly width: number;
  /** Normalized input x̂ and 1/√(σ² + ε) per row, kept for backward. */
  private xHat: Float32Array = new Float32Array(0);
  private invStd: Float32Array = new Float32Array(0);

  constructor(spec: LayerNormSpec, readonly inputShape: readonly number[]) {
    const epsilon = spec.epsilon ?? 1e-5;
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw specError('layer_norm', `epsilon must be a positive number, got ${epsilon}`);
    this.spec = { type: 'layer_norm', epsilon };
    if (inputShape.length === 0 || sizeOf(inputShape) === 0) throw specError('layer_norm', `input shape [${inputShape.join(', ')}] has nothing to normalize`);
    this.width = inputShape[inputShape.length - 1] as number;
    this.outputShape = [...inputShape];
    this.gamma = makeParam('gamma', [this.width], new Float32Array(this.width).fill(1));
    this.beta = makeParam('beta', [this.width]);
  }

  params(): Param[] {
    return [this.gamma, this.beta];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('layer_norm', x, this.inputShape);
    const rows = x.data.length / this.width;
    // Only backward reads xHat and invStd, and only the latest forward's: the same arrays serve every step.
    this.xHat = reuseBuffer(this.xHat, x.data.length);
    this.invStd = reuseBuffer(this.invStd, rows);
    const y = new Float32Array(x.data.length);
    (ctx.backend.layerNorm ?? layerNormJs)({
      x: x.data, gamma: this.gamma.value, beta: this.beta.value, y, xHat: this.xHat, invStd: this.invStd, rows, width: this.width, epsilon: this.spec.epsilon,
    });
    return { data: y, shape: [...x.shape] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const dx = new Float32Array(dy.data.length);
    (ctx.backend.layerNormBackward ?? layerNormBackwardJs)({
      dy: dy.data, xHat: this.xHat, invStd: this.invStd, gamma: this.gamma.value, dx, dGamma: this.gamma.grad, dBeta: this.beta.grad,
      rows: this.invStd.length, width: this.width,
    });
    return { data: dx, shape: [...dy.shape] };
  }
}

export const layerNormKind: LayerKind<LayerNormSpec> = {
  type: 'layer_norm',
  doc: 'Layer normalization over the last axis: γ·(x − mean)/√(variance + ε) + β, population variance, γ=1 and β=0 at init.',
  fields: [{ name: 'epsilon', type: 'number', doc: 'added to the variance for stability', default: 1e-5 }],
  create: (spec: LayerNormSpec, inputShape: readonly number[], _rng: Rng) => new LayerNorm(spec, inputShape),
  onnx: emitLayerNorm,
  loom: {
    ...normLoom<LayerNormSpec>('layer_norm', 'layernorm'),
    weights: () => [weightField('gamma', 'gamma', false, { missing: 1 }), weightField('beta', 'beta')],
  },
  tweenRate: 0.1,
};

/** The LOOM definition of a norm over the last axis (layer norm, RMS norm): norm_size and epsilon. */
export function normLoom<S extends { readonly type: string; readonly epsilon?: number }>(type: S['type'], alias: string): Pick<LoomCodec<S>, 'type' | 'aliases' | 'read' | 'write'> {
  return {
    type,
    aliases: [alias],
    read(def, shape, { where }) {
      const width = intField(def, 'norm_size', where) ?? (shape ? (shape[shape.length - 1] as number) : requireInt(def, 'norm_size', where));
      const epsilon = numField(def, 'epsilon', where) ?? 1e-5;
      return { spec: { type, epsilon }, need: rowsOf(shape, width, where) };
    },
    write: ({ spec, inputShape }) => ({ norm_size: inputShape[inputShape.length - 1], epsilon: spec.epsilon }),
  };
}

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** Opset 17's LayerNormalization over the last axis: population variance, ε inside the root, as Loom. */
function emitLayerNorm(layer: Layer<LayerNormSpec>, x: string, g: OnnxGraph<Layer>): string {
  return g.op('LayerNormalization', [x, g.param(g.paramOf(layer, 'gamma')), g.param(g.paramOf(layer, 'beta'))], {
    axis: int(-1),
    epsilon: float(layer.spec.epsilon ?? 1e-5),
  });
}
