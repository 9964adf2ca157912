import { ACTIVATIONS, activate, activateGrad, isActivation, type Activation } from '../activations.js';
import { ints, type OnnxGraph } from '../io/onnx/graph.js';
import { emitActivation } from '../io/onnx/ops/activation.js';
import type { Backend } from '../backend/types.js';
import { shapeError, specError } from '../errors.js';
import { fillNormal, type Rng } from '../rng.js';
import { expectSampleShape, reuseBuffer, type Tensor } from '../tensor.js';
import { activationFromLoom, intField, requireInt, typedSpec, weightField, type LoomWeightField, type WeightsFormat } from '../io/loom-codec.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

type Pair = readonly [number, number];

export interface Conv2dSpec {
  readonly type: 'conv2d';
  readonly filters: number;
  /** k (square) or [kh, kw]. */
  readonly kernelSize: number | Pair;
  /** s or [sh, sw]. */
  readonly stride?: number | Pair;
  /** Zero padding on each side: p, [ph, pw], or 'same' (stride 1, odd kernel: output as large as the input). */
  readonly padding?: number | Pair | 'same';
  readonly activation?: Activation;
  /** Multiplies the He-normal init (LOOM's InitScale). */
  readonly initScale?: number;
}

/** Everything the conv2d kernel needs besides buffers and the batch size. */
export interface ConvGeometry {
  readonly inC: number;
  readonly inH: number;
  readonly inW: number;
  readonly outC: number;
  readonly kH: number;
  readonly kW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly outH: number;
  readonly outW: number;
}

/** A spec field that is n or [a, b] of integers ≥ min, as a pair. */
export function intPair(where: string, field: string, value: unknown, min: number): [number, number] {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (ok(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1])) return [value[0], value[1]];
  throw specError(where, `${field} must be an integer ≥ ${min} or a pair [h, w] of them, got ${JSON.stringify(value)}`);
}

export const convOutSize = (size: number, k: number, stride: number, pad: number): number =>
  Math.floor((size + 2 * pad - k) / stride) + 1;

/**
 * The part every convolution layer shares: kernel [outC][inC][kH][kW] and bias [outC], He-normal init
 * √(2/(inC·kH·kW)), bias + activation around the backend's conv2d kernel. Works on NCHW data; Conv1d feeds it H = 1.
 */
export class ConvCore {
  readonly kernel: Param;
  readonly bias: Param;
  private x: Float32Array = new Float32Array(0);
  private pre: Float32Array = new Float32Array(0);
  /** Backward's dy·act'(pre), reused across steps: it never leaves backward. */
  private dPre: Float32Array = new Float32Array(0);
  private batch = 0;

  constructor(
    readonly geometry: ConvGeometry,
    readonly activation: Activation,
    kernelShape: readonly number[],
    rng: Rng,
    initScale: number,
  ) {
    const { inC, kH, kW, outC } = geometry;
    const fanIn = inC * kH * kW;
    this.kernel = makeParam('kernel', kernelShape, fillNormal(rng, new Float32Array(outC * fanIn), Math.sqrt(2 / fanIn) * initScale));
    this.bias = makeParam('bias', [outC]);
  }

  /** x is [batch][inC][inH][inW]; returns act(conv(x) + bias) as [batch][outC][outH][outW]. */
  forward(x: Float32Array, batch: number, backend: Backend): Float32Array {
    const g = this.geometry;
    // pre stays inside the layer (backward reads the latest forward's), so its array is reused from step to step.
    const pre = reuseBuffer(this.pre, batch * g.outC * g.outH * g.outW);
    backend.conv2d({ ...g, x, w: this.kernel.value, bias: this.bias.value, y: pre, batch });
    const y = new Float32Array(pre.length);
    activate(backend, this.activation, pre, y);
    this.x = x;
    this.pre = pre;
    this.batch = batch;
    return y;
  }

  /** dy like the last forward's output; adds into kernel/bias grads and returns dL/dx (zeros when !inputGrad). */
  backward(dy: Float32Array, backend: Backend, inputGrad = true): Float32Array {
    const g = this.geometry;
    const dPre = (this.dPre = reuseBuffer(this.dPre, dy.length));
    activateGrad(backend, this.activation, this.pre, dy, dPre);
    const dx = new Float32Array(this.x.length);
    backend.conv2dBackward({
      ...g,
      x: this.x,
      w: this.kernel.value,
      bias: this.bias.value,
      batch: this.batch,
      dy: dPre,
      dx,
      dw: this.kernel.grad,
      db: this.bias.grad,
      inputGrad,
    });
    return dx;
  }
}

/** Checks the fields shared by conv2d and conv1d and returns them with defaults filled in. */
export function resolveConvCommon(where: string, spec: { filters: unknown; activation?: unknown; initScale?: unknown }): {
  filters: number;
  activation: Activation;
  initScale: number;
} {
  const filters = spec.filters;
  if (typeof filters !== 'number' || !Number.isInteger(filters) || filters < 1) {
    throw specError(where, `filters must be a positive integer, got ${JSON.stringify(filters)}`);
  }
  const activation = spec.activation ?? 'linear';
  if (!isActivation(activation)) throw specError(where, `unknown activation "${String(activation)}" (known: ${ACTIVATIONS.join(', ')})`);
  const initScale = spec.initScale ?? 1;
  if (typeof initScale !== 'number' || !Number.isFinite(initScale)) throw specError(where, `initScale must be a finite number, got ${JSON.stringify(initScale)}`);
  return { filters, activation, initScale };
}

/** 'same' → (k−1)/2 on each side, which keeps the size only for stride 1 and an odd kernel. */
export function samePadding(where: string, kernel: readonly number[], stride: readonly number[]): number[] {
  if (stride.some((s) => s !== 1)) throw specError(where, `padding 'same' needs stride 1, got stride ${stride.join('×')}`);
  if (kernel.some((k) => k % 2 === 0)) throw specError(where, `padding 'same' needs an odd kernel size, got ${kernel.join('×')}`);
  return kernel.map((k) => (k - 1) / 2);
}

/** NCHW 2-D convolution: [C, H, W] → [filters, OH, OW], y = act(W ⊛ x + b). */
class Conv2d implements Layer<Conv2dSpec> {
  readonly spec: Required<Conv2dSpec>;
  readonly outputShape: readonly number[];
  private readonly core: ConvCore;

  constructor(spec: Conv2dSpec, readonly inputShape: readonly number[], rng: Rng) {
    const { filters, activation, initScale } = resolveConvCommon('conv2d', spec);
    const [kH, kW] = intPair('conv2d', 'kernelSize', spec.kernelSize, 1);
    const stride = spec.stride ?? 1;
    const [strideH, strideW] = intPair('conv2d', 'stride', stride, 1);
    const padding = spec.padding ?? 0;
    const [padH, padW] =
      padding === 'same' ? samePadding('conv2d', [kH, kW], [strideH, strideW]) : intPair('conv2d', 'padding', padding, 0);
    this.spec = { type: 'conv2d', filters, kernelSize: spec.kernelSize, stride, padding, activation, initScale };

    if (inputShape.length !== 3) throw shapeError('conv2d', '[channels, height, width]', inputShape);
    const [inC, inH, inW] = inputShape as [number, number, number];
    const outH = convOutSize(inH, kH, strideH, padH);
    const outW = convOutSize(inW, kW, strideW, padW);
    if (outH < 1 || outW < 1) {
      throw shapeError('conv2d', `[channels, height ≥ ${kH - 2 * padH}, width ≥ ${kW - 2 * padW}] for a ${kH}×${kW} kernel with padding ${padH}×${padW}`, inputShape);
    }
    this.outputShape = [filters, outH, outW];
    const geometry = { inC, inH, inW, outC: filters, kH, kW, strideH, strideW, padH, padW, outH, outW };
    this.core = new ConvCore(geometry, activation, [filters, inC, kH, kW], rng, initScale);
  }

  params(): Param[] {
    return [this.core.kernel, this.core.bias];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('conv2d', x, this.inputShape);
    const batch = x.shape[0] as number;
    return { data: this.core.forward(x.data, batch, ctx.backend), shape: [batch, ...this.outputShape] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    return { data: this.core.backward(dy.data, ctx.backend, ctx.inputGrad !== false), shape: [dy.shape[0] as number, ...this.inputShape] };
  }
}

export const conv2dKind: LayerKind<Conv2dSpec> = {
  type: 'conv2d',
  doc: '2-D convolution over [channels, height, width] (NCHW) with zero padding; kernel is [filters][channels][kh][kw].',
  fields: [
    { name: 'filters', type: 'integer', doc: 'output channels', required: true },
    { name: 'kernelSize', type: 'integer', doc: 'kernel size k, or [kh, kw]', required: true },
    { name: 'stride', type: 'integer', doc: 'stride s, or [sh, sw]', default: 1 },
    { name: 'padding', type: 'integer', doc: "zero padding per side p, [ph, pw], or 'same' (stride 1, odd kernel)", default: 0 },
    { name: 'activation', type: 'enum', doc: 'activation after the convolution', values: ACTIVATIONS, default: 'linear' },
    { name: 'initScale', type: 'number', doc: 'multiplier on the He-normal init', default: 1 },
  ],
  create: (spec, inputShape, rng) => new Conv2d(spec, inputShape, rng),
  onnx: emitConv2d,
  loom: {
    type: 'conv2d',
    read(def, _shape, { where }) {
      const need = [requireInt(def, 'input_channels', where), requireInt(def, 'input_height', where), requireInt(def, 'input_width', where)];
      const spec = typedSpec<Conv2dSpec>({
        type: 'conv2d', filters: requireInt(def, 'filters', where), kernelSize: requireInt(def, 'kernel_size', where),
        stride: intField(def, 'stride', where) ?? 1, padding: intField(def, 'padding', where) ?? 0, activation: activationFromLoom(def, where),
      });
      return { spec, need };
    },
    // LOOM has square kernels and strides: the height ones are written (cfg.loomts keeps the exact spec)
    write({ spec, inputShape, outputShape }) {
      const first = (v: number | Pair): number => (Array.isArray(v) ? v[0] : (v as number));
      const kH = first(spec.kernelSize);
      const pad = spec.padding === 'same' ? (kH - 1) / 2 : first(spec.padding ?? 0);
      return {
        input_channels: inputShape[0], filters: spec.filters, kernel_size: kH, stride: first(spec.stride ?? 1), padding: pad,
        input_height: inputShape[1], input_width: inputShape[2], output_height: outputShape[1], output_width: outputShape[2],
      };
    },
    weights: (fmt) => convWeights(fmt),
  },
  tweenRate: 0.1,
};

/**
 * Conv kernel and bias; the bias is `conv_bias` in jsonModelB64 and `biases` in multiPrecisionB64, as LOOM writes
 * them (either name is read).
 */
export const convWeights = (fmt: WeightsFormat): LoomWeightField[] => [
  weightField('kernel', 'kernel'),
  fmt === 'jsonModelB64' ? weightField('bias', 'conv_bias', false, { alias: 'biases' }) : weightField('bias', 'biases'),
];

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** NCHW Conv with Loom's kernel [filters][channels][kh][kw] and symmetric zero padding, then the activation. */
function emitConv2d(layer: Layer<Conv2dSpec>, x: string, g: OnnxGraph<Layer>): string {
  const kernel = g.paramOf(layer, 'kernel');
  const [kH, kW] = [kernel.shape[2] as number, kernel.shape[3] as number];
  const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
  const [sH, sW] = pair(layer.spec.stride ?? 1);
  const padding = layer.spec.padding ?? 0;
  const [pH, pW] = padding === 'same' ? [(kH - 1) / 2, (kW - 1) / 2] : pair(padding);
  const y = g.op('Conv', [x, g.param(kernel), g.param(g.paramOf(layer, 'bias'))], {
    kernel_shape: ints([kH, kW]),
    strides: ints([sH, sW]),
    pads: ints([pH, pW, pH, pW]),
  });
  return emitActivation(g, y, layer.spec.activation ?? 'linear');
}
