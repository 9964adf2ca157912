import { ACTIVATIONS, type Activation } from '../activations.js';
import { ints, type OnnxGraph } from '../io/onnx/graph.js';
import { emitActivation } from '../io/onnx/ops/activation.js';
import { shapeError, specError } from '../errors.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, sizeOf, type Tensor } from '../tensor.js';
import { activationFromLoom, flatNeed, intField, requireInt, typedSpec } from '../io/loom-codec.js';
import { ConvCore, convOutSize, convWeights, resolveConvCommon, samePadding } from './conv2d.js';
import type { Layer, LayerKind, Param, RunContext } from './types.js';

export interface Conv1dSpec {
  readonly type: 'conv1d';
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride?: number;
  /** Zero padding on each side, or 'same' (stride 1, odd kernel: output as long as the input). */
  readonly padding?: number | 'same';
  readonly activation?: Activation;
  /** false (default): input [channels, time] → [filters, outTime]. true: input [time, channels] → [outTime, filters] (tokens). */
  readonly channelsLast?: boolean;
  /** Multiplies the He-normal init (LOOM's InitScale). */
  readonly initScale?: number;
}

const positiveInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** out[b][j][i] = x[b][i][j] for each sample of a [batch][rows][cols] buffer. */
function transposeSamples(x: Float32Array, batch: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[base + j * rows + i] = x[base + i * cols + j] as number;
  }
  return out;
}

/**
 * 1-D convolution along time, run on the conv2d kernel with height 1 so every backend gets it for free.
 * Kernel [filters][channels][k]. channelsLast transposes tokens [time, channels] in and [outTime, filters] out.
 */
class Conv1d implements Layer<Conv1dSpec> {
  readonly spec: Required<Conv1dSpec>;
  readonly outputShape: readonly number[];
  private readonly core: ConvCore;
  private readonly channels: number;
  private readonly time: number;
  private readonly outTime: number;

  constructor(spec: Conv1dSpec, readonly inputShape: readonly number[], rng: Rng) {
    const { filters, activation, initScale } = resolveConvCommon('conv1d', spec);
    const k = spec.kernelSize;
    if (!positiveInt(k, 1)) throw specError('conv1d', `kernelSize must be a positive integer, got ${JSON.stringify(k)}`);
    const stride = spec.stride ?? 1;
    if (!positiveInt(stride, 1)) throw specError('conv1d', `stride must be a positive integer, got ${JSON.stringify(stride)}`);
    const padding = spec.padding ?? 0;
    let pad: number;
    if (padding === 'same') pad = samePadding('conv1d', [k], [stride])[0] as number;
    else if (positiveInt(padding, 0)) pad = padding;
    else throw specError('conv1d', `padding must be a non-negative integer or 'same', got ${JSON.stringify(padding)}`);
    const channelsLast = spec.channelsLast ?? false;
    if (typeof channelsLast !== 'boolean') throw specError('conv1d', `channelsLast must be a boolean, got ${JSON.stringify(channelsLast)}`);
    this.spec = { type: 'conv1d', filters, kernelSize: k, stride, padding, activation, channelsLast, initScale };

    const layout = channelsLast ? '[time, channels]' : '[channels, time]';
    if (inputShape.length !== 2) throw shapeError('conv1d', layout, inputShape);
    const [a, b] = inputShape as [number, number];
    this.channels = channelsLast ? b : a;
    this.time = channelsLast ? a : b;
    this.outTime = convOutSize(this.time, k, stride, pad);
    if (this.outTime < 1) {
      const need = channelsLast ? `[time ≥ ${k - 2 * pad}, channels]` : `[channels, time ≥ ${k - 2 * pad}]`;
      throw shapeError('conv1d', `${need} for kernel ${k} with padding ${pad}`, inputShape);
    }
    this.outputShape = channelsLast ? [this.outTime, filters] : [filters, this.outTime];
    const geometry = {
      inC: this.channels, inH: 1, inW: this.time, outC: filters, kH: 1, kW: k,
      strideH: 1, strideW: stride, padH: 0, padW: pad, outH: 1, outW: this.outTime,
    };
    this.core = new ConvCore(geometry, activation, [filters, this.channels, k], rng, initScale);
  }

  params(): Param[] {
    return [this.core.kernel, this.core.bias];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('conv1d', x, this.inputShape);
    const batch = x.shape[0] as number;
    const nct = this.spec.channelsLast ? transposeSamples(x.data, batch, this.time, this.channels) : x.data;
    const y = this.core.forward(nct, batch, ctx.backend);
    const data = this.spec.channelsLast ? transposeSamples(y, batch, this.spec.filters, this.outTime) : y;
    return { data, shape: [batch, ...this.outputShape] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const batch = dy.shape[0] as number;
    const dyNct = this.spec.channelsLast ? transposeSamples(dy.data, batch, this.outTime, this.spec.filters) : dy.data;
    const dx = this.core.backward(dyNct, ctx.backend, ctx.inputGrad !== false);
    const data = this.spec.channelsLast ? transposeSamples(dx, batch, this.channels, this.time) : dx;
    return { data, shape: [batch, ...this.inputShape] };
  }
}

export const conv1dKind: LayerKind<Conv1dSpec> = {
  type: 'conv1d',
  doc: '1-D convolution along time over [channels, time], or [time, channels] tokens with channelsLast; kernel is [filters][channels][k].',
  fields: [
    { name: 'filters', type: 'integer', doc: 'output channels', required: true },
    { name: 'kernelSize', type: 'integer', doc: 'kernel length', required: true },
    { name: 'stride', type: 'integer', doc: 'stride along time', default: 1 },
    { name: 'padding', type: 'integer', doc: "zero padding per side, or 'same' (stride 1, odd kernel)", default: 0 },
    { name: 'activation', type: 'enum', doc: 'activation after the convolution', values: ACTIVATIONS, default: 'linear' },
    { name: 'channelsLast', type: 'boolean', doc: 'input is [time, channels] and output [outTime, filters]', default: false },
    { name: 'initScale', type: 'number', doc: 'multiplier on the He-normal init', default: 1 },
  ],
  create: (spec, inputShape, rng) => new Conv1d(spec, inputShape, rng),
  onnx: emitConv1d,
  loom: {
    type: 'conv1d',
    read(def, shape, ctx) {
      const { where } = ctx;
      const length = intField(def, 'input_length', where) ?? intField(def, 'input_height', where);
      const channels = intField(def, 'input_channels', where) ?? 1;
      const need = length !== undefined ? [channels, length] : shape ? [channels, sizeOf(shape) / channels] : flatNeed(null, undefined, ctx);
      const spec = typedSpec<Conv1dSpec>({
        type: 'conv1d', filters: requireInt(def, 'filters', where), kernelSize: requireInt(def, 'kernel_size', where),
        stride: intField(def, 'stride', where) ?? 1, padding: intField(def, 'padding', where) ?? 0, activation: activationFromLoom(def, where),
      });
      return { spec, need };
    },
    write({ spec, inputShape }) {
      const channelsLast = spec.channelsLast === true;
      const k = spec.kernelSize;
      return {
        input_channels: channelsLast ? inputShape[1] : inputShape[0], filters: spec.filters, kernel_size: k, stride: spec.stride,
        padding: spec.padding === 'same' ? (k - 1) / 2 : spec.padding, input_length: channelsLast ? inputShape[0] : inputShape[1],
      };
    },
    weights: (fmt) => convWeights(fmt),
  },
  tweenRate: 0.1,
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/** 1-D Conv over [channels, time]; channelsLast tokens [time, channels] are transposed in and out. */
function emitConv1d(layer: Layer<Conv1dSpec>, x: string, g: OnnxGraph<Layer>): string {
  const spec = layer.spec;
  const k = spec.kernelSize;
  const stride = spec.stride ?? 1;
  const padding = spec.padding ?? 0;
  const pad = padding === 'same' ? (k - 1) / 2 : padding;
  const channelsLast = spec.channelsLast ?? false;
  const input = channelsLast ? g.transpose(x, [0, 2, 1]) : x;
  const y = g.op('Conv', [input, g.param(g.paramOf(layer, 'kernel')), g.param(g.paramOf(layer, 'bias'))], {
    kernel_shape: ints([k]),
    strides: ints([stride]),
    pads: ints([pad, pad]),
  });
  const out = emitActivation(g, y, spec.activation ?? 'linear');
  return channelsLast ? g.transpose(out, [0, 2, 1]) : out;
}
