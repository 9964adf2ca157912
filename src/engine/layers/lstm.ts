import { sigmoid } from '../math.js';
import { type OnnxGraph } from '../io/onnx/graph.js';
import { emitRecurrent } from '../io/onnx/ops/recurrent.js';
import { fillNormal, type Rng } from '../rng.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import type { LoomWeightField } from '../io/loom-codec.js';
import { recurrentBackwardTail, recurrentLoom, recurrentShape, swapOuterAxes } from './rnn.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface LstmSpec {
  readonly type: 'lstm';
  /** Hidden (and cell) state size. */
  readonly hidden: number;
  /** Multiplies the Xavier-normal init. */
  readonly initScale?: number;
}

/**
 * LSTM over [seq, in] → [seq, hidden], every step returned. The four gates are fused along the last axis in the
 * order i, f, g, o: kernel [in][4·hidden], recurrentKernel [hidden][4·hidden], bias [4·hidden] (one bias, as
 * PyTorch's b_ih + b_hh). i = σ, f = σ, g = tanh, o = σ; c_t = f⊙c_{t−1} + i⊙g; h_t = o⊙tanh(c_t); c₀ = h₀ = 0.
 * The forget-gate bias starts at 1 so early training keeps the cell state.
 */
class Lstm implements Layer<LstmSpec> {
  readonly spec: Required<LstmSpec>;
  readonly outputShape: readonly number[];
  readonly kernel: Param;
  readonly recurrentKernel: Param;
  readonly bias: Param;
  private readonly seq: number;
  private readonly inSize: number;
  private x: Float32Array = new Float32Array(0);
  /** Time-major [seq + 1][batch][hidden] hidden and cell states (step 0 is zero). */
  private hs: Float32Array = new Float32Array(0);
  private cs: Float32Array = new Float32Array(0);
  /** Activated gates, time-major [seq][batch][4·hidden]. */
  private gates: Float32Array = new Float32Array(0);
  /** tanh(c_t), time-major [seq][batch][hidden]. */
  private cellTanh: Float32Array = new Float32Array(0);
  private batch = 0;

  constructor(spec: LstmSpec, readonly inputShape: readonly number[], rng: Rng) {
    const hidden = spec.hidden;
    const initScale = spec.initScale ?? 1;
    [this.seq, this.inSize] = recurrentShape('lstm', hidden, initScale, inputShape);
    this.spec = { type: 'lstm', hidden, initScale };
    this.outputShape = [this.seq, hidden];
    const g4 = 4 * hidden;
    const ih = fillNormal(rng, new Float32Array(this.inSize * g4), Math.sqrt(2 / (this.inSize + hidden)) * initScale);
    this.kernel = makeParam('kernel', [this.inSize, g4], ih);
    const hh = fillNormal(rng, new Float32Array(hidden * g4), Math.sqrt(1 / hidden) * initScale);
    this.recurrentKernel = makeParam('recurrentKernel', [hidden, g4], hh);
    this.bias = makeParam('bias', [g4]);
    this.bias.value.fill(1, hidden, 2 * hidden);
  }

  params(): Param[] {
    return [this.kernel, this.recurrentKernel, this.bias];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('lstm', x, this.inputShape);
    const batch = x.shape[0] as number;
    const { seq } = this;
    const h = this.spec.hidden;
    const g4 = 4 * h;
    const step = batch * h;
    const hs = new Float32Array((seq + 1) * step);
    const cs = new Float32Array((seq + 1) * step);
    const gates = new Float32Array(seq * batch * g4);
    const cellTanh = new Float32Array(seq * step);
    const bias = this.bias.value;
    // A backend with a fused LSTM (cpu-wasm: the whole sequence in one call) replaces the loop below, the reference.
    const fused = ctx.backend.lstmForward;
    if (fused) fused({ x: x.data, kernel: this.kernel.value, recurrent: this.recurrentKernel.value, bias, hs, cs, gates, cellTanh, batch, seq, inSize: this.inSize, hidden: h });
    const xw = fused ? new Float32Array(0) : new Float32Array(batch * seq * g4);
    if (!fused) ctx.backend.matmul({ a: x.data, b: this.kernel.value, c: xw, m: batch * seq, n: g4, k: this.inSize });
    for (let t = 0; t < (fused ? 0 : seq); t++) {
      const gt = t * batch * g4;
      for (let s = 0; s < batch; s++) {
        const from = (s * seq + t) * g4;
        for (let j = 0; j < g4; j++) gates[gt + s * g4 + j] = (xw[from + j] as number) + (bias[j] as number);
      }
      if (t > 0) ctx.backend.matmul({ a: hs, b: this.recurrentKernel.value, c: gates, m: batch, n: g4, k: h, aOffset: t * step, cOffset: gt, accumulate: true });
      for (let s = 0; s < batch; s++) {
        const row = gt + s * g4;
        const prev = t * step + s * h;
        const next = prev + step;
        for (let j = 0; j < h; j++) {
          const i = sigmoid(gates[row + j] as number);
          const f = sigmoid(gates[row + h + j] as number);
          const g = Math.tanh(gates[row + 2 * h + j] as number);
          const o = sigmoid(gates[row + 3 * h + j] as number);
          gates[row + j] = i;
          gates[row + h + j] = f;
          gates[row + 2 * h + j] = g;
          gates[row + 3 * h + j] = o;
          const c = f * (cs[prev + j] as number) + i * g;
          const tc = Math.tanh(c);
          cs[next + j] = c;
          cellTanh[t * step + s * h + j] = tc;
          hs[next + j] = o * tc;
        }
      }
    }
    this.x = x.data;
    this.hs = hs;
    this.cs = cs;
    this.gates = gates;
    this.cellTanh = cellTanh;
    this.batch = batch;
    return { data: swapOuterAxes(hs.subarray(step), seq, batch, h), shape: [batch, seq, h] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const { seq, batch } = this;
    const h = this.spec.hidden;
    const g4 = 4 * h;
    const step = batch * h;
    const dyT = swapOuterAxes(dy.data, batch, seq, h);
    const dPre = new Float32Array(seq * batch * g4); // time-major gate pre-activation gradients
    const dhNext = new Float32Array(step);
    const dcNext = new Float32Array(step);
    for (let t = seq - 1; t >= 0; t--) {
      const gt = t * batch * g4;
      for (let s = 0; s < batch; s++) {
        const row = gt + s * g4;
        for (let j = 0; j < h; j++) {
          const si = s * h + j;
          const i = this.gates[row + j] as number;
          const f = this.gates[row + h + j] as number;
          const g = this.gates[row + 2 * h + j] as number;
          const o = this.gates[row + 3 * h + j] as number;
          const tc = this.cellTanh[t * step + si] as number;
          const dh = (dyT[t * step + si] as number) + (dhNext[si] as number);
          const dc = (dcNext[si] as number) + dh * o * (1 - tc * tc);
          dPre[row + j] = dc * g * i * (1 - i);
          dPre[row + h + j] = dc * (this.cs[t * step + si] as number) * f * (1 - f);
          dPre[row + 2 * h + j] = dc * i * (1 - g * g);
          dPre[row + 3 * h + j] = dh * tc * o * (1 - o);
          dcNext[si] = dc * f;
        }
      }
      if (t > 0) ctx.backend.matmul({ a: dPre, b: this.recurrentKernel.value, c: dhNext, m: batch, n: h, k: g4, aOffset: gt, transB: true });
    }
    return recurrentBackwardTail(ctx, this, this.x, this.hs, dPre, { seq, batch, hidden: h, width: g4, inSize: this.inSize });
  }
}

export const lstmKind: LayerKind<LstmSpec> = {
  type: 'lstm',
  doc: 'LSTM (gates i, f, g, o fused along the last axis, forget bias 1) over [seq, in]; returns every step, [seq, hidden].',
  fields: [
    { name: 'hidden', type: 'integer', doc: 'hidden and cell state size', required: true },
    { name: 'initScale', type: 'number', doc: 'multiplier on the Xavier-normal init', default: 1 },
  ],
  create: (spec, inputShape, rng) => new Lstm(spec, inputShape, rng),
  onnx: emitLstm,
  loom: {
    ...recurrentLoom<LstmSpec>('lstm'),
    // LOOM keeps each gate apart: weight_i{g} [hidden][in], weight_h{g} [hidden][hidden], bias_{g}; ours fuse them
    weights: () =>
      (['i', 'f', 'g', 'o'] as const).flatMap((g, k): LoomWeightField[] => [
        { param: 'kernel', field: `weight_i${g}`, transpose: true, block: [k, 4] },
        { param: 'recurrentKernel', field: `weight_h${g}`, transpose: true, block: [k, 4] },
        { param: 'bias', field: `bias_${g}`, block: [k, 4] },
      ]),
  },
  tweenRate: 0.5,
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** Loom fuses gates as i, f, g, o; ONNX's LSTM wants i, o, f, c. */
function emitLstm(layer: Layer<LstmSpec>, x: string, g: OnnxGraph<Layer>): string {
  return emitRecurrent(layer, x, g, 'LSTM', layer.spec.hidden, [0, 3, 1, 2]);
}
