import { shapeError, specError } from '../errors.js';
import { type OnnxGraph } from '../io/onnx/graph.js';
import { emitRecurrent } from '../io/onnx/ops/recurrent.js';
import { fillNormal, type Rng } from '../rng.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import { intField, requireInt, seqOf, weightField, type LoomCodec } from '../io/loom-codec.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface RnnSpec {
  readonly type: 'rnn';
  /** Hidden state size (the output features per step). */
  readonly hidden: number;
  /** Multiplies the Xavier-normal init. */
  readonly initScale?: number;
}

/**
 * Copies [outer][inner][width] into [inner][outer][width]: batch-major ↔ time-major. Recurrent layers keep their
 * per-step states time-major so each step's batch is one contiguous block for the backend's matmul.
 */
export function swapOuterAxes(src: Float32Array, outer: number, inner: number, width: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) dst.set(src.subarray((o * inner + i) * width, (o * inner + i + 1) * width), (i * outer + o) * width);
  }
  return dst;
}

/** Checks a recurrent layer's spec fields and input shape; returns [seq, in]. */
export function recurrentShape(where: string, hidden: number, initScale: number, inputShape: readonly number[]): [number, number] {
  if (!Number.isInteger(hidden) || hidden < 1) throw specError(where, `hidden must be a positive integer, got ${hidden}`);
  if (!(initScale >= 0) || !Number.isFinite(initScale)) throw specError(where, `initScale must be a non-negative number, got ${initScale}`);
  if (inputShape.length !== 2) throw shapeError(where, '[seq, in]', inputShape);
  return inputShape as [number, number];
}

/**
 * Elman RNN: h_t = tanh(x_t·W_ih + h_{t−1}·W_hh + b), h₀ = 0; every h_t is returned, [seq, in] → [seq, hidden].
 * Kernels are [in][hidden] and [hidden][hidden]. Backward is plain BPTT (LOOM's version counts dW_ih, db and dx twice).
 */
class Rnn implements Layer<RnnSpec> {
  readonly spec: Required<RnnSpec>;
  readonly outputShape: readonly number[];
  readonly kernel: Param;
  readonly recurrentKernel: Param;
  readonly bias: Param;
  private readonly seq: number;
  private readonly inSize: number;
  private x: Float32Array = new Float32Array(0);
  /** Hidden states, time-major [seq + 1][batch][hidden]; step 0 is h₀ = 0. */
  private states: Float32Array = new Float32Array(0);
  private batch = 0;

  constructor(spec: RnnSpec, readonly inputShape: readonly number[], rng: Rng) {
    const hidden = spec.hidden;
    const initScale = spec.initScale ?? 1;
    [this.seq, this.inSize] = recurrentShape('rnn', hidden, initScale, inputShape);
    this.spec = { type: 'rnn', hidden, initScale };
    this.outputShape = [this.seq, hidden];
    const ih = new Float32Array(this.inSize * hidden);
    this.kernel = makeParam('kernel', [this.inSize, hidden], fillNormal(rng, ih, Math.sqrt(2 / (this.inSize + hidden)) * initScale));
    const hh = new Float32Array(hidden * hidden);
    this.recurrentKernel = makeParam('recurrentKernel', [hidden, hidden], fillNormal(rng, hh, Math.sqrt(1 / hidden) * initScale));
    this.bias = makeParam('bias', [hidden]);
  }

  params(): Param[] {
    return [this.kernel, this.recurrentKernel, this.bias];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('rnn', x, this.inputShape);
    const batch = x.shape[0] as number;
    const { seq } = this;
    const h = this.spec.hidden;
    const step = batch * h;
    // The input part of every step in one product, then only h_{t−1}·W_hh stays inside the loop.
    const xw = new Float32Array(batch * seq * h);
    ctx.backend.matmul({ a: x.data, b: this.kernel.value, c: xw, m: batch * seq, n: h, k: this.inSize });
    const states = new Float32Array((seq + 1) * step);
    const b = this.bias.value;
    for (let t = 0; t < seq; t++) {
      const at = (t + 1) * step;
      for (let s = 0; s < batch; s++) {
        const from = (s * seq + t) * h;
        for (let j = 0; j < h; j++) states[at + s * h + j] = (xw[from + j] as number) + (b[j] as number);
      }
      if (t > 0) ctx.backend.matmul({ a: states, b: this.recurrentKernel.value, c: states, m: batch, n: h, k: h, aOffset: t * step, cOffset: at, accumulate: true });
      for (let i = at; i < at + step; i++) states[i] = Math.tanh(states[i] as number);
    }
    this.x = x.data;
    this.states = states;
    this.batch = batch;
    return { data: swapOuterAxes(states.subarray(step), seq, batch, h), shape: [batch, seq, h] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const { seq, batch } = this;
    const h = this.spec.hidden;
    const step = batch * h;
    const dyT = swapOuterAxes(dy.data, batch, seq, h);
    const dPre = new Float32Array(seq * step); // time-major
    const dhNext = new Float32Array(step);
    for (let t = seq - 1; t >= 0; t--) {
      const at = t * step;
      for (let i = 0; i < step; i++) {
        const hv = this.states[at + step + i] as number;
        dPre[at + i] = ((dyT[at + i] as number) + (dhNext[i] as number)) * (1 - hv * hv);
      }
      if (t > 0) ctx.backend.matmul({ a: dPre, b: this.recurrentKernel.value, c: dhNext, m: batch, n: h, k: h, aOffset: at, transB: true });
    }
    // states 0..seq−1 (h_0 = 0 first) line up with dPre 0..seq−1.
    return recurrentBackwardTail(ctx, this, this.x, this.states, dPre, { seq, batch, hidden: h, width: h, inSize: this.inSize });
  }
}

/** The weights every recurrent layer has: input kernel [in][width], recurrent kernel [hidden][width], bias [width]. */
export interface RecurrentWeights {
  readonly kernel: Param;
  readonly recurrentKernel: Param;
  readonly bias: Param;
}

/**
 * The end of BPTT that RNN and LSTM share. Given dPre, the gradient of every step's pre-activations (time-major,
 * [seq][batch][width]), and prevStates, the hidden states that fed each step (time-major [seq][batch][hidden],
 * h_{t−1} for step t), adds the kernel, recurrent-kernel and bias gradients and returns dL/dx ([batch][seq][in]).
 */
export function recurrentBackwardTail(
  ctx: RunContext,
  weights: RecurrentWeights,
  x: Float32Array,
  prevStates: Float32Array,
  dPre: Float32Array,
  dims: { seq: number; batch: number; hidden: number; width: number; inSize: number },
): Tensor {
  const { seq, batch, hidden, width, inSize } = dims;
  // dW_hh = Σ_t h_{t−1}ᵀ·dPre_t: one product over all steps.
  ctx.backend.matmul({ a: prevStates, b: dPre, c: weights.recurrentKernel.grad, m: hidden, n: width, k: seq * batch, transA: true, accumulate: true });
  const db = weights.bias.grad;
  for (let r = 0; r < seq * batch; r++) for (let j = 0; j < width; j++) db[j] = (db[j] as number) + (dPre[r * width + j] as number);
  const dPreB = swapOuterAxes(dPre, seq, batch, width);
  ctx.backend.matmul({ a: x, b: dPreB, c: weights.kernel.grad, m: inSize, n: width, k: batch * seq, transA: true, accumulate: true });
  const dx = new Float32Array(batch * seq * inSize);
  if (ctx.inputGrad !== false) ctx.backend.matmul({ a: dPreB, b: weights.kernel.value, c: dx, m: batch * seq, n: inSize, k: width, transB: true });
  return { data: dx, shape: [batch, seq, inSize] };
}

export const rnnKind: LayerKind<RnnSpec> = {
  type: 'rnn',
  doc: 'Elman RNN h_t = tanh(x_t·W_ih + h_{t−1}·W_hh + b) over [seq, in]; returns every step, [seq, hidden].',
  fields: [
    { name: 'hidden', type: 'integer', doc: 'hidden state size', required: true },
    { name: 'initScale', type: 'number', doc: 'multiplier on the Xavier-normal init', default: 1 },
  ],
  create: (spec, inputShape, rng) => new Rnn(spec, inputShape, rng),
  onnx: emitRnn,
  loom: {
    ...recurrentLoom<RnnSpec>('rnn'),
    // LOOM's weight_ih [hidden][in] and weight_hh [hidden][hidden] are ours transposed
    weights: () => [weightField('kernel', 'weight_ih', true), weightField('recurrentKernel', 'weight_hh', true), weightField('bias', 'bias_h')],
  },
  tweenRate: 0.5,
};

/** The LOOM definition of a recurrent layer (RNN, LSTM): hidden_size over [seq_length, input_size]. */
export function recurrentLoom<S extends { readonly type: string; readonly hidden: number }>(type: S['type']): Pick<LoomCodec<S>, 'type' | 'read' | 'write'> {
  return {
    type,
    read(def, shape, { where }) {
      const hidden = requireInt(def, 'hidden_size', where);
      const inSize = intField(def, 'input_size', where) ?? hidden;
      return { spec: { type, hidden }, need: seqOf(shape, inSize, intField(def, 'seq_length', where), where) };
    },
    write: ({ spec, inputShape }) => ({ input_size: inputShape[1], hidden_size: spec.hidden, seq_length: inputShape[0] }),
  };
}

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** h_t = tanh(x_t·W + h_{t−1}·U + b): ONNX's RNN with its default tanh. */
function emitRnn(layer: Layer<RnnSpec>, x: string, g: OnnxGraph<Layer>): string {
  return emitRecurrent(layer, x, g, 'RNN', layer.spec.hidden, [0]);
}
