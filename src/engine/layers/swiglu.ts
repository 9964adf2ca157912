import { activate, activateGrad } from '../activations.js';
import { type OnnxGraph } from '../io/onnx/graph.js';
import { specError } from '../errors.js';
import { fillNormal, type Rng } from '../rng.js';
import { addColumnSums, fillRows } from '../math.js';
import { expectSampleShape, reuseBuffer, sizeOf, type Tensor } from '../tensor.js';
import { requireInt, rowsOf, typedSpec, weightField as f } from '../io/loom-codec.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface SwigluSpec {
  readonly type: 'swiglu';
  /** Intermediate size I (LOOM's OutputHeight). Default: twice the model width. */
  readonly hidden?: number;
  /** Multiplies the normal init. */
  readonly initScale?: number;
}

/**
 * The gated feed-forward block, per position of the last axis [..., H] → [..., H]:
 * y = (silu(x·Wg + bg) ⊙ (x·Wu + bu))·Wd + bd, with Wg, Wu [H][I] and Wd [I][H] as LOOM.
 * LOOM's JSON "swiglu" built an undersized Dense instead and had no top-level backward; this is the real block.
 */
class Swiglu implements Layer<SwigluSpec> {
  readonly spec: Required<SwigluSpec>;
  readonly outputShape: readonly number[];
  readonly gateKernel: Param;
  readonly gateBias: Param;
  readonly upKernel: Param;
  readonly upBias: Param;
  readonly downKernel: Param;
  readonly downBias: Param;
  private readonly width: number;
  private x: Float32Array = new Float32Array(0);
  // Gate pre-activation, silu(gate), up and their product [rows][I], kept for backward; with backward's scratch
  // (dHidden, dGate, dUp) they never leave the layer, so their arrays are reused from step to step.
  private gatePre: Float32Array = new Float32Array(0);
  private gateAct: Float32Array = new Float32Array(0);
  private up: Float32Array = new Float32Array(0);
  private hiddenAct: Float32Array = new Float32Array(0);
  private dHidden: Float32Array = new Float32Array(0);
  private dGate: Float32Array = new Float32Array(0);
  private dUp: Float32Array = new Float32Array(0);

  constructor(spec: SwigluSpec, readonly inputShape: readonly number[], rng: Rng) {
    if (inputShape.length === 0 || sizeOf(inputShape) === 0) throw specError('swiglu', `input shape [${inputShape.join(', ')}] has no last axis`);
    const h = inputShape[inputShape.length - 1] as number;
    const hidden = spec.hidden ?? 2 * h;
    if (!Number.isInteger(hidden) || hidden < 1) throw specError('swiglu', `hidden must be a positive integer, got ${hidden}`);
    const initScale = spec.initScale ?? 1;
    if (!(initScale > 0)) throw specError('swiglu', `initScale must be positive, got ${initScale}`);
    this.spec = { type: 'swiglu', hidden, initScale };
    this.width = h;
    this.outputShape = [...inputShape];
    const inStd = Math.sqrt(1 / h) * initScale;
    this.gateKernel = makeParam('gate.kernel', [h, hidden], fillNormal(rng, new Float32Array(h * hidden), inStd));
    this.gateBias = makeParam('gate.bias', [hidden]);
    this.upKernel = makeParam('up.kernel', [h, hidden], fillNormal(rng, new Float32Array(h * hidden), inStd));
    this.upBias = makeParam('up.bias', [hidden]);
    this.downKernel = makeParam('down.kernel', [hidden, h], fillNormal(rng, new Float32Array(hidden * h), Math.sqrt(1 / hidden) * initScale));
    this.downBias = makeParam('down.bias', [h]);
  }

  params(): Param[] {
    return [this.gateKernel, this.gateBias, this.upKernel, this.upBias, this.downKernel, this.downBias];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('swiglu', x, this.inputShape);
    const h = this.width;
    const hidden = this.spec.hidden;
    const rows = x.data.length / h;
    const n = rows * hidden;
    const gatePre = (this.gatePre = reuseBuffer(this.gatePre, n));
    const up = (this.up = reuseBuffer(this.up, n));
    fillRows(gatePre, this.gateBias.value, rows);
    fillRows(up, this.upBias.value, rows);
    ctx.backend.matmul({ a: x.data, b: this.gateKernel.value, c: gatePre, m: rows, n: hidden, k: h, accumulate: true });
    ctx.backend.matmul({ a: x.data, b: this.upKernel.value, c: up, m: rows, n: hidden, k: h, accumulate: true });
    const gateAct = (this.gateAct = reuseBuffer(this.gateAct, n));
    activate(ctx.backend, 'silu', gatePre, gateAct);
    const hiddenAct = (this.hiddenAct = reuseBuffer(this.hiddenAct, n));
    for (let i = 0; i < n; i++) hiddenAct[i] = (gateAct[i] as number) * (up[i] as number);
    const y = new Float32Array(rows * h);
    fillRows(y, this.downBias.value, rows);
    ctx.backend.matmul({ a: hiddenAct, b: this.downKernel.value, c: y, m: rows, n: h, k: hidden, accumulate: true });
    this.x = x.data;
    return { data: y, shape: [...x.shape] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const h = this.width;
    const hidden = this.spec.hidden;
    const rows = dy.data.length / h;
    const n = rows * hidden;
    addColumnSums(dy.data, rows, h, this.downBias.grad);
    // dWd += Aᵀ·dy ; dA = dy·Wdᵀ
    ctx.backend.matmul({ a: this.hiddenAct, b: dy.data, c: this.downKernel.grad, m: hidden, n: h, k: rows, transA: true, accumulate: true });
    const dHidden = (this.dHidden = reuseBuffer(this.dHidden, n));
    ctx.backend.matmul({ a: dy.data, b: this.downKernel.value, c: dHidden, m: rows, n: hidden, k: h, transB: true });
    // dUp = dA ⊙ silu(gate); dGate = (dA ⊙ up) ⊙ silu'(gate pre-activation)
    const dGate = (this.dGate = reuseBuffer(this.dGate, n));
    const dUp = (this.dUp = reuseBuffer(this.dUp, n));
    const { gateAct, up } = this;
    for (let i = 0; i < n; i++) {
      const g = dHidden[i] as number;
      dUp[i] = g * (gateAct[i] as number);
      dGate[i] = g * (up[i] as number);
    }
    activateGrad(ctx.backend, 'silu', this.gatePre, dGate, dGate);
    addColumnSums(dGate, rows, hidden, this.gateBias.grad);
    addColumnSums(dUp, rows, hidden, this.upBias.grad);
    ctx.backend.matmul({ a: this.x, b: dGate, c: this.gateKernel.grad, m: h, n: hidden, k: rows, transA: true, accumulate: true });
    ctx.backend.matmul({ a: this.x, b: dUp, c: this.upKernel.grad, m: h, n: hidden, k: rows, transA: true, accumulate: true });
    const dx = new Float32Array(rows * h);
    if (ctx.inputGrad === false) return { data: dx, shape: [...dy.shape] };
    ctx.backend.matmul({ a: dGate, b: this.gateKernel.value, c: dx, m: rows, n: h, k: hidden, transB: true });
    ctx.backend.matmul({ a: dUp, b: this.upKernel.value, c: dx, m: rows, n: h, k: hidden, transB: true, accumulate: true });
    return { data: dx, shape: [...dy.shape] };
  }
}

export const swigluKind: LayerKind<SwigluSpec> = {
  type: 'swiglu',
  doc: 'Gated feed-forward block per position of the last axis: (silu(x·Wg + bg) ⊙ (x·Wu + bu))·Wd + bd, [..., H] → [..., H].',
  fields: [
    { name: 'hidden', type: 'integer', doc: 'intermediate size I (default 2·H)' },
    { name: 'initScale', type: 'number', doc: 'multiplier on the normal init', default: 1 },
  ],
  create: (spec: SwigluSpec, inputShape: readonly number[], rng: Rng) => new Swiglu(spec, inputShape, rng),
  onnx: emitSwiglu,
  loom: {
    type: 'swiglu',
    read(def, shape, { where }) {
      const width = requireInt(def, 'input_height', where);
      return { spec: typedSpec<SwigluSpec>({ type: 'swiglu', hidden: requireInt(def, 'output_height', where) }), need: rowsOf(shape, width, where) };
    },
    write: ({ spec, inputShape }) => ({ input_height: inputShape[inputShape.length - 1], output_height: spec.hidden }),
    weights: () => [
      f('gate.kernel', 'gate_weights'), f('up.kernel', 'up_weights'), f('down.kernel', 'down_weights'),
      f('gate.bias', 'gate_bias'), f('up.bias', 'up_bias'), f('down.bias', 'down_bias'),
    ],
  },
  tweenRate: 0.2,
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** (silu(x·Wg + bg) ⊙ (x·Wu + bu))·Wd + bd per position of the last axis. */
function emitSwiglu(layer: Layer<SwigluSpec>, x: string, g: OnnxGraph<Layer>): string {
  const gate = g.affine(x, g.paramOf(layer, 'gate.kernel'), g.paramOf(layer, 'gate.bias'));
  const up = g.affine(x, g.paramOf(layer, 'up.kernel'), g.paramOf(layer, 'up.bias'));
  const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
  return g.affine(g.op('Mul', [silu, up]), g.paramOf(layer, 'down.kernel'), g.paramOf(layer, 'down.bias'));
}
