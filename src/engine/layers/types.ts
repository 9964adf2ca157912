import type { Backend } from '../backend/types.js';
import type { OnnxEmitter } from '../io/onnx/graph.js';
import type { LoomCodec } from '../io/loom-codec.js';
import type { Rng } from '../rng.js';
import type { Tensor } from '../tensor.js';

/** The JSON description of a layer. `type` selects the LayerKind in the registry; the rest is that kind's spec. */
export interface LayerSpec {
  readonly type: string;
}

/** A trainable tensor and its gradient buffer. Backward passes add (+=) into `grad`; optimizers read and zero it. */
export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
  readonly grad: Float32Array;
}

/** What a forward or backward pass may use besides its input. */
export interface RunContext {
  /** True while training: Gumbel noise and other train-only behaviour are on. */
  readonly training: boolean;
  /** Seeded source for stochastic layers (Gumbel noise). */
  readonly rng: Rng;
  /** Where the heavy kernels run. */
  readonly backend: Backend;
  /**
   * False when nothing reads dL/d(input) of the layer (the network's first layer while training): the layer may
   * skip that product and return zeros. Absent means true.
   */
  readonly inputGrad?: boolean;
}

/**
 * A built layer: parameters allocated and initialized for one per-sample input shape.
 *
 * Invariants:
 * - `forward` remembers what `backward` needs (the last forward's inputs/intermediates) on the instance;
 *   `backward` must follow the matching `forward`, with dy shaped like that forward's output.
 * - `backward` adds parameter gradients into `Param.grad` (never overwrites) and returns dL/dx.
 * - `params()` lists every trainable tensor, nested branches included, with unique dotted names; the order is stable.
 */
export interface Layer<S extends LayerSpec = LayerSpec> {
  /** The resolved spec: every default filled in, enough to rebuild this layer with `createLayer`. */
  readonly spec: S;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  params(): Param[];
  forward(x: Tensor, ctx: RunContext): Tensor;
  backward(dy: Tensor, ctx: RunContext): Tensor;
  /** Sub-layers (Parallel branches, Sequential steps), for observers and blueprints. */
  children?(): Layer[];
  /**
   * Layers that add an earlier activation (Residual) declare how many positions back in their chain the skip
   * comes from (1 = the input of the previous layer). The chain passes it to `forwardSkip`.
   */
  readonly skipBack?: number;
  forwardSkip?(x: Tensor, skip: Tensor, ctx: RunContext): Tensor;
  /** Gradient for the skip input, valid after `backward`. */
  skipGrad?(): Tensor;
}

/** One documented field of a layer spec, for generators, dashboards and `loom inspect`. */
export interface SpecField {
  readonly name: string;
  readonly type: 'number' | 'integer' | 'boolean' | 'string' | 'enum' | 'array' | 'layers' | 'object';
  readonly doc: string;
  readonly default?: unknown;
  readonly values?: readonly string[];
  readonly required?: boolean;
}

/**
 * Builds a child layer from its spec: how kinds with sub-layers (Parallel, Sequential) build them without importing
 * the registry (which imports every kind); registry.ts's createLayer passes itself.
 */
export type CreateLayer = (spec: LayerSpec, inputShape: readonly number[], rng: Rng) => Layer;

/** A layer type: one file per kind, one line in the registry. */
export interface LayerKind<S extends LayerSpec = LayerSpec> {
  readonly type: S['type'];
  readonly doc: string;
  readonly fields: readonly SpecField[];
  /** Builds the layer for a per-sample input shape, with seeded init. Throws a spec or shape error naming the layer. */
  create(spec: S, inputShape: readonly number[], rng: Rng, createChild?: CreateLayer): Layer<S>;
  /** Its ONNX form: emits the layer's operators (in the kind's file, on io/onnx/graph.ts); absent: the kind cannot be exported to ONNX. */
  readonly onnx?: OnnxEmitter<Layer<S>, Layer>;
  /** Its LOOM bundle form (io/loom-codec.ts); absent: the kind cannot be written to a LOOM bundle. */
  readonly loom?: LoomCodec<S>;
  /** Tweening's learning-rate multiplier for this kind's params (LOOM's per-type rate); absent: 1. */
  readonly tweenRate?: number;
}

/** A parameter with its gradient buffer, allocated together. */
export function makeParam(name: string, shape: readonly number[], value?: Float32Array): Param {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = value ?? new Float32Array(n);
  if (v.length !== n) throw new Error(`param ${name}: ${v.length} values for shape [${shape.join(', ')}]`);
  return { name, shape: [...shape], value: v, grad: new Float32Array(n) };
}

/** Prefixes the names of a child's params (branch.0.kernel, …) so names stay unique in a tree. */
export const prefixParams = (prefix: string, params: Param[]): Param[] =>
  params.map((p) => ({ name: `${prefix}.${p.name}`, shape: p.shape, value: p.value, grad: p.grad }));
