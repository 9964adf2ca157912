import { ACTIVATIONS, activate, activateGrad, isActivation, type Activation } from '../activations.js';
import { int, type OnnxGraph } from '../io/onnx/graph.js';
import { emitActivation } from '../io/onnx/ops/activation.js';
import { modelFileError, specError } from '../errors.js';
import { addColumnSums, fillRows } from '../math.js';
import { fillNormal, type Rng } from '../rng.js';
import { expectSampleShape, reuseBuffer, sizeOf, type Tensor } from '../tensor.js';
import { activationFromLoom, flatNeed, fmtShape, intField, requireInt, typedSpec, weightField } from '../io/loom-codec.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface DenseSpec {
  readonly type: 'dense';
  readonly units: number;
  readonly activation?: Activation;
  /** false (default): the whole sample is one input vector. true: applied at each position of the last axis ([..., in] → [..., units]). */
  readonly perPosition?: boolean;
  /** Multiplies the He-normal init (LOOM's InitScale). */
  readonly initScale?: number;
}

/** y = act(x·W + b), W laid out [in][out] as LOOM. */
class Dense implements Layer<DenseSpec> {
  readonly spec: Required<DenseSpec>;
  readonly outputShape: readonly number[];
  readonly kernel: Param;
  readonly bias: Param;
  private readonly inSize: number;
  private readonly positions: number;
  private x: Float32Array = new Float32Array(0);
  private pre: Float32Array = new Float32Array(0);
  /** Scratch for dy·act'(pre), reused across steps: it never leaves backward. */
  private dPre: Float32Array = new Float32Array(0);

  constructor(spec: DenseSpec, readonly inputShape: readonly number[], rng: Rng) {
    const units = spec.units;
    if (!Number.isInteger(units) || units < 1) throw specError('dense', `units must be a positive integer, got ${units}`);
    const activation = spec.activation ?? 'linear';
    if (!isActivation(activation)) throw specError('dense', `unknown activation "${activation}" (known: ${ACTIVATIONS.join(', ')})`);
    const perPosition = spec.perPosition ?? false;
    const initScale = spec.initScale ?? 1;
    this.spec = { type: 'dense', units, activation, perPosition, initScale };
    if (inputShape.length === 0) throw specError('dense', 'input shape is empty');
    this.inSize = perPosition ? (inputShape[inputShape.length - 1] as number) : sizeOf(inputShape);
    this.positions = perPosition ? sizeOf(inputShape) / this.inSize : 1;
    this.outputShape = perPosition ? [...inputShape.slice(0, -1), units] : [units];
    this.kernel = makeParam('kernel', [this.inSize, units], fillNormal(rng, new Float32Array(this.inSize * units), Math.sqrt(2 / this.inSize) * initScale));
    this.bias = makeParam('bias', [units]);
  }

  params(): Param[] {
    return [this.kernel, this.bias];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('dense', x, this.inputShape);
    const rows = (x.shape[0] as number) * this.positions;
    const units = this.spec.units;
    const act = this.spec.activation;
    // Linear: the output is the pre-activation itself (backward never reads pre then), so no copy; otherwise pre
    // stays inside the layer and its array is reused from step to step.
    const pre = act === 'linear' ? new Float32Array(rows * units) : reuseBuffer(this.pre, rows * units);
    fillRows(pre, this.bias.value, rows);
    ctx.backend.matmul({ a: x.data, b: this.kernel.value, c: pre, m: rows, n: units, k: this.inSize, accumulate: true });
    const y = act === 'linear' ? pre : new Float32Array(pre.length);
    activate(ctx.backend, act, pre, y);
    this.x = x.data;
    this.pre = pre;
    return { data: y, shape: [x.shape[0] as number, ...this.outputShape] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const units = this.spec.units;
    const rows = this.pre.length / units;
    const act = this.spec.activation;
    // dPre = dy·act'(pre); linear reads dy as it is (nothing here writes to it).
    let dPre = dy.data;
    if (act !== 'linear') {
      this.dPre = reuseBuffer(this.dPre, dPre.length);
      activateGrad(ctx.backend, act, this.pre, dy.data, this.dPre);
      dPre = this.dPre;
    }
    addColumnSums(dPre, rows, units, this.bias.grad);
    // dW += xᵀ·dPre ; dx = dPre·Wᵀ
    ctx.backend.matmul({ a: this.x, b: dPre, c: this.kernel.grad, m: this.inSize, n: units, k: rows, transA: true, accumulate: true });
    const dx = new Float32Array(rows * this.inSize);
    if (ctx.inputGrad !== false) ctx.backend.matmul({ a: dPre, b: this.kernel.value, c: dx, m: rows, n: this.inSize, k: units, transB: true });
    return { data: dx, shape: [dy.shape[0] as number, ...this.inputShape] };
  }
}

export const denseKind: LayerKind<DenseSpec> = {
  type: 'dense',
  doc: 'Fully connected layer y = act(x·W + b), W is [in][out]; over the whole sample or per position of the last axis.',
  fields: [
    { name: 'units', type: 'integer', doc: 'output features', required: true },
    { name: 'activation', type: 'enum', doc: 'activation after the affine map', values: ACTIVATIONS, default: 'linear' },
    { name: 'perPosition', type: 'boolean', doc: 'apply to each position of the last axis instead of the flattened sample', default: false },
    { name: 'initScale', type: 'number', doc: 'multiplier on the He-normal init', default: 1 },
  ],
  create: (spec, inputShape, rng) => new Dense(spec, inputShape, rng),
  onnx: emitDense,
  loom: {
    type: 'dense',
    read(def, shape, ctx) {
      const { where } = ctx;
      const units = intField(def, 'output_height', where) ?? intField(def, 'output_size', where) ?? requireInt(def, 'height', where);
      const inSize = intField(def, 'input_height', where) ?? intField(def, 'input_size', where) ?? intField(def, 'width', where);
      if (shape && inSize !== undefined && sizeOf(shape) !== inSize) {
        throw modelFileError(`${where}: dense expects input_height ${inSize} values, but the previous layer gives ${sizeOf(shape)} (${fmtShape(shape)})`);
      }
      return { spec: typedSpec<DenseSpec>({ type: 'dense', units, activation: activationFromLoom(def, where) }), need: shape ? [...shape] : flatNeed(null, inSize, ctx) };
    },
    write: (layer) => ({
      input_height: layer.spec.perPosition ? layer.inputShape[layer.inputShape.length - 1] : sizeOf(layer.inputShape),
      output_height: layer.spec.units,
    }),
    weights: () => [weightField('kernel', 'kernel'), weightField('bias', 'biases')],
  },
  tweenRate: 1,
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** act(x·W + b): over the flattened sample, or per position of the last axis (MatMul broadcasts the leading axes). */
function emitDense(layer: Layer<DenseSpec>, x: string, g: OnnxGraph<Layer>): string {
  const spec = layer.spec;
  const input = spec.perPosition || layer.inputShape.length === 1 ? x : g.op('Flatten', [x], { axis: int(1) });
  const pre = g.affine(input, g.paramOf(layer, 'kernel'), g.paramOf(layer, 'bias'));
  return emitActivation(g, pre, spec.activation ?? 'linear');
}
