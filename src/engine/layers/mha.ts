import { shapeError, specError } from '../errors.js';
import { int, type OnnxGraph } from '../io/onnx/graph.js';
import { addColumnSums, fillRows } from '../math.js';
import { fillNormal, type Rng } from '../rng.js';
import { applyRope, ropeTables, type RopeTables } from '../rope.js';
import { expectSampleShape, reuseBuffer, type Tensor } from '../tensor.js';
import { intField, requireInt, seqOf, typedSpec, weightField as f } from '../io/loom-codec.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface MhaSpec {
  readonly type: 'mha';
  /** Query heads; must divide dModel (headDim = dModel / heads). */
  readonly heads: number;
  /** Key/value heads (grouped-query attention when fewer); must divide heads. Default: heads. */
  readonly kvHeads?: number;
  /** Position i attends to positions ≤ i only. */
  readonly causal?: boolean;
  /** Rotary position embedding (rotate_half style) on queries and keys. */
  readonly rope?: boolean;
  /** RoPE base: frequency i is ropeTheta^(−2i/headDim). */
  readonly ropeTheta?: number;
  /** Multiplies the Xavier-normal init. */
  readonly initScale?: number;
}

/**
 * Multi-head self-attention over a [seq, dModel] sample: Q = x·Wq + bq, K = x·Wk + bk, V = x·Wv + bv (kernels
 * [in][out] as LOOM; K and V have kvHeads·headDim columns), optional RoPE on Q and K, softmax(QKᵀ/√headDim)·V per
 * head through the backend, heads concatenated, then y = attn·Wo + bo. Unlike LOOM, every weight gets its true gradient.
 */
class MultiHeadAttention implements Layer<MhaSpec> {
  readonly spec: Required<MhaSpec>;
  readonly outputShape: readonly number[];
  readonly qKernel: Param;
  readonly qBias: Param;
  readonly kKernel: Param;
  readonly kBias: Param;
  readonly vKernel: Param;
  readonly vBias: Param;
  readonly outKernel: Param;
  readonly outBias: Param;
  private readonly seq: number;
  private readonly dModel: number;
  private readonly headDim: number;
  private readonly kvDim: number;
  /** RoPE tables for positions 0…seq−1; null when rope is off. */
  private readonly rope: RopeTables | null;
  private x: Float32Array = new Float32Array(0);
  private q: Float32Array = new Float32Array(0);
  private k: Float32Array = new Float32Array(0);
  private v: Float32Array = new Float32Array(0);
  private probs: Float32Array = new Float32Array(0);
  private attn: Float32Array = new Float32Array(0);
  private batch = 0;
  /** Backward's scratch (dAttn, dq, dk, dv), reused across steps: none of it leaves backward. */
  private grads: { dAttn: Float32Array; dq: Float32Array; dk: Float32Array; dv: Float32Array } | null = null;

  constructor(spec: MhaSpec, readonly inputShape: readonly number[], rng: Rng) {
    if (inputShape.length !== 2) throw shapeError('mha', '[seq, dModel]', inputShape);
    const [seq, dModel] = inputShape as [number, number];
    const heads = spec.heads;
    if (!Number.isInteger(heads) || heads < 1) throw specError('mha', `heads must be a positive integer, got ${heads}`);
    if (dModel % heads !== 0) throw specError('mha', `heads (${heads}) must divide dModel (${dModel})`);
    const kvHeads = spec.kvHeads ?? heads;
    if (!Number.isInteger(kvHeads) || kvHeads < 1 || heads % kvHeads !== 0) {
      throw specError('mha', `kvHeads must be a positive integer dividing heads (${heads}), got ${kvHeads}`);
    }
    const causal = spec.causal ?? false;
    const rope = spec.rope ?? false;
    const ropeTheta = spec.ropeTheta ?? 10000;
    if (!(ropeTheta > 0) || !Number.isFinite(ropeTheta)) throw specError('mha', `ropeTheta must be a positive number, got ${ropeTheta}`);
    const initScale = spec.initScale ?? 1;
    if (!(initScale >= 0) || !Number.isFinite(initScale)) throw specError('mha', `initScale must be a non-negative number, got ${initScale}`);
    this.spec = { type: 'mha', heads, kvHeads, causal, rope, ropeTheta, initScale };
    this.seq = seq;
    this.dModel = dModel;
    this.headDim = dModel / heads;
    if (rope && this.headDim % 2 !== 0) throw specError('mha', `rope needs an even headDim, got ${this.headDim} (dModel ${dModel} / heads ${heads})`);
    this.kvDim = kvHeads * this.headDim;
    this.outputShape = [seq, dModel];

    const kernel = (name: string, fanIn: number, fanOut: number): Param =>
      makeParam(name, [fanIn, fanOut], fillNormal(rng, new Float32Array(fanIn * fanOut), Math.sqrt(2 / (fanIn + fanOut)) * initScale));
    this.qKernel = kernel('qKernel', dModel, dModel);
    this.kKernel = kernel('kKernel', dModel, this.kvDim);
    this.vKernel = kernel('vKernel', dModel, this.kvDim);
    this.outKernel = kernel('outKernel', dModel, dModel);
    this.qBias = makeParam('qBias', [dModel]);
    this.kBias = makeParam('kBias', [this.kvDim]);
    this.vBias = makeParam('vBias', [this.kvDim]);
    this.outBias = makeParam('outBias', [dModel]);

    this.rope = rope ? ropeTables(seq, this.headDim, ropeTheta) : null;
  }

  params(): Param[] {
    return [this.qKernel, this.qBias, this.kKernel, this.kBias, this.vKernel, this.vBias, this.outKernel, this.outBias];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('mha', x, this.inputShape);
    const batch = x.shape[0] as number;
    const rows = batch * this.seq;
    const { heads, kvHeads, causal } = this.spec;
    // q, k, v, probs and attn stay inside the layer (backward reads the latest forward's): their arrays are reused.
    const q = this.project(x.data, rows, this.qKernel, this.qBias, reuseBuffer(this.q, rows * this.dModel), ctx);
    const k = this.project(x.data, rows, this.kKernel, this.kBias, reuseBuffer(this.k, rows * this.kvDim), ctx);
    const v = this.project(x.data, rows, this.vKernel, this.vBias, reuseBuffer(this.v, rows * this.kvDim), ctx);
    if (this.spec.rope) {
      this.rotate(q, heads, 1);
      this.rotate(k, kvHeads, 1);
    }
    const attn = reuseBuffer(this.attn, rows * this.dModel);
    const probs = reuseBuffer(this.probs, batch * heads * this.seq * this.seq);
    ctx.backend.attention({
      q, k, v, out: attn, probs, batch, heads, kvHeads, seqQ: this.seq, seqK: this.seq, headDim: this.headDim, causal,
      scale: 1 / Math.sqrt(this.headDim),
    });
    const y = new Float32Array(rows * this.dModel);
    fillRows(y, this.outBias.value, rows);
    ctx.backend.matmul({ a: attn, b: this.outKernel.value, c: y, m: rows, n: this.dModel, k: this.dModel, accumulate: true });
    this.x = x.data;
    this.q = q;
    this.k = k;
    this.v = v;
    this.probs = probs;
    this.attn = attn;
    this.batch = batch;
    return { data: y, shape: [batch, this.seq, this.dModel] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const rows = this.batch * this.seq;
    const { heads, kvHeads, causal } = this.spec;
    const d = this.dModel;
    addColumnSums(dy.data, rows, d, this.outBias.grad);
    ctx.backend.matmul({ a: this.attn, b: dy.data, c: this.outKernel.grad, m: d, n: d, k: rows, transA: true, accumulate: true });
    if (this.grads?.dAttn.length !== rows * d) {
      const kv = rows * this.kvDim;
      this.grads = { dAttn: new Float32Array(rows * d), dq: new Float32Array(rows * d), dk: new Float32Array(kv), dv: new Float32Array(kv) };
    }
    // All four are overwritten whole below (matmul without accumulate, attentionBackward), so stale values never leak.
    const { dAttn, dq, dk, dv } = this.grads;
    ctx.backend.matmul({ a: dy.data, b: this.outKernel.value, c: dAttn, m: rows, n: d, k: d, transB: true });

    ctx.backend.attentionBackward({
      q: this.q, k: this.k, v: this.v, probs: this.probs, dOut: dAttn, dq, dk, dv, batch: this.batch, heads, kvHeads,
      seqQ: this.seq, seqK: this.seq, headDim: this.headDim, causal, scale: 1 / Math.sqrt(this.headDim),
    });
    if (this.spec.rope) {
      // The rotation is orthogonal, so its backward is the inverse rotation.
      this.rotate(dq, heads, -1);
      this.rotate(dk, kvHeads, -1);
    }
    const dx = new Float32Array(rows * d);
    this.projectBackward(dq, rows, this.qKernel, this.qBias, dx, ctx);
    this.projectBackward(dk, rows, this.kKernel, this.kBias, dx, ctx);
    this.projectBackward(dv, rows, this.vKernel, this.vBias, dx, ctx);
    return { data: dx, shape: [this.batch, ...this.inputShape] };
  }

  /** x·W + b for every row, into out (rows × bias length; overwritten). */
  private project(x: Float32Array, rows: number, kernel: Param, bias: Param, out: Float32Array, ctx: RunContext): Float32Array {
    const cols = bias.value.length;
    fillRows(out, bias.value, rows);
    ctx.backend.matmul({ a: x, b: kernel.value, c: out, m: rows, n: cols, k: this.dModel, accumulate: true });
    return out;
  }

  /** Adds the projection's weight and bias gradients and its contribution dOut·Wᵀ to dx. */
  private projectBackward(dOut: Float32Array, rows: number, kernel: Param, bias: Param, dx: Float32Array, ctx: RunContext): void {
    const cols = bias.value.length;
    addColumnSums(dOut, rows, cols, bias.grad);
    ctx.backend.matmul({ a: this.x, b: dOut, c: kernel.grad, m: this.dModel, n: cols, k: rows, transA: true, accumulate: true });
    ctx.backend.matmul({ a: dOut, b: kernel.value, c: dx, m: rows, n: this.dModel, k: cols, transB: true, accumulate: true });
  }

  /** In-place RoPE on every head of every row (row r is position r mod seq); direction −1 is the inverse rotation. */
  private rotate(t: Float32Array, headCount: number, direction: 1 | -1): void {
    if (this.rope) applyRope(t, headCount, this.rope, (r) => r % this.seq, direction);
  }
}

export const mhaKind: LayerKind<MhaSpec> = {
  type: 'mha',
  doc: 'Multi-head self-attention over [seq, dModel] with grouped KV heads, optional causal mask and RoPE; output [seq, dModel].',
  fields: [
    { name: 'heads', type: 'integer', doc: 'query heads; must divide dModel', required: true },
    { name: 'kvHeads', type: 'integer', doc: 'key/value heads (grouped-query when fewer); must divide heads; defaults to heads' },
    { name: 'causal', type: 'boolean', doc: 'each position attends only to itself and earlier positions', default: false },
    { name: 'rope', type: 'boolean', doc: 'rotary position embedding on queries and keys (rotate_half style)', default: false },
    { name: 'ropeTheta', type: 'number', doc: 'RoPE base frequency', default: 10000 },
    { name: 'initScale', type: 'number', doc: 'multiplier on the Xavier-normal init', default: 1 },
  ],
  create: (spec, inputShape, rng) => new MultiHeadAttention(spec, inputShape, rng),
  onnx: emitMha,
  // LOOM's attention: causal, RoPE θ = 1e6 as its CPU path, head dim d_model/num_heads everywhere
  loom: {
    type: 'multi_head_attention',
    aliases: ['mha'],
    read(def, shape, { where }) {
      const dModel = requireInt(def, 'd_model', where);
      const heads = requireInt(def, 'num_heads', where);
      const rope = (dModel / heads) % 2 === 0;
      const spec = typedSpec<MhaSpec>({ type: 'mha', heads, causal: true, rope, ropeTheta: 1e6 });
      return { spec, need: seqOf(shape, dModel, intField(def, 'seq_length', where), where) };
    },
    write: ({ spec, inputShape }) => ({ d_model: inputShape[1], num_heads: spec.heads, seq_length: inputShape[0] }),
    weights: () => [
      f('qKernel', 'q_weights'), f('kKernel', 'k_weights'), f('vKernel', 'v_weights'), f('outKernel', 'output_weight'),
      f('qBias', 'q_bias'), f('kBias', 'k_bias'), f('vBias', 'v_bias'), f('outBias', 'output_bias'),
    ],
  },
  tweenRate: 0.2,
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/**
 * Multi-head self-attention as Loom computes it: projections, heads split to [N, heads, seq, headDim], RoPE
 * (rotate_half) on queries and keys from the same cos/sin tables, grouped KV heads repeated (query head h reads kv
 * head ⌊h/(heads/kvHeads)⌋), softmax(QKᵀ/√headDim) with an optional causal mask, heads joined, output projection.
 */
function emitMha(layer: Layer<MhaSpec>, x: string, g: OnnxGraph<Layer>): string {
  const [seq, dModel] = layer.inputShape as [number, number];
  const heads = layer.spec.heads;
  const kvHeads = layer.spec.kvHeads ?? heads;
  const headDim = dModel / heads;
  const rope = layer.spec.rope ?? false;
  const theta = layer.spec.ropeTheta ?? 10000;

  const split = (v: string, count: number): string => g.transpose(g.reshape(v, [seq, count, headDim]), [0, 2, 1, 3]);
  let q = split(g.affine(x, g.paramOf(layer, 'qKernel'), g.paramOf(layer, 'qBias')), heads);
  let k = split(g.affine(x, g.paramOf(layer, 'kKernel'), g.paramOf(layer, 'kBias')), kvHeads);
  const v0 = split(g.affine(x, g.paramOf(layer, 'vKernel'), g.paramOf(layer, 'vBias')), kvHeads);

  if (rope) {
    const half = headDim / 2;
    const cos = new Float32Array(seq * half);
    const sin = new Float32Array(seq * half);
    for (let p = 0; p < seq; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * theta ** ((-2 * i) / headDim);
        cos[p * half + i] = Math.cos(angle);
        sin[p * half + i] = Math.sin(angle);
      }
    }
    const c = g.constant('rope_cos', cos, [seq, half]);
    const s = g.constant('rope_sin', sin, [seq, half]);
    const rotate = (t: string): string => {
      const a = g.sliceLast(t, 0, half);
      const b = g.sliceLast(t, half, headDim);
      const first = g.op('Sub', [g.op('Mul', [a, c]), g.op('Mul', [b, s])]);
      const second = g.op('Add', [g.op('Mul', [b, c]), g.op('Mul', [a, s])]);
      return g.op('Concat', [first, second], { axis: int(-1) });
    };
    q = rotate(q);
    k = rotate(k);
  }

  let v = v0;
  if (kvHeads !== heads) {
    const group = heads / kvHeads;
    const repeat = (t: string): string => {
      const expanded = g.op('Expand', [g.op('Unsqueeze', [t, g.int64('axes', [2])]), g.int64('expand', [1, 1, group, 1, 1])]);
      return g.reshape(expanded, [heads, seq, headDim]);
    };
    k = repeat(k);
    v = repeat(v);
  }

  let scores = g.op('Mul', [g.op('MatMul', [q, g.transpose(k, [0, 1, 3, 2])]), g.scalar('attn_scale', 1 / Math.sqrt(headDim))]);
  if (layer.spec.causal) {
    const mask = new Float32Array(seq * seq);
    for (let i = 0; i < seq; i++) for (let j = i + 1; j < seq; j++) mask[i * seq + j] = -Infinity;
    scores = g.op('Add', [scores, g.constant('causal_mask', mask, [seq, seq])]);
  }
  const probs = g.op('Softmax', [scores], { axis: int(-1) });
  const attn = g.reshape(g.transpose(g.op('MatMul', [probs, v]), [0, 2, 1, 3]), [seq, dModel]);
  return g.affine(attn, g.paramOf(layer, 'outKernel'), g.paramOf(layer, 'outBias'));
}
