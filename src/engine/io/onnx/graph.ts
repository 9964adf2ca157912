import { specError } from '../../errors.js';

/**
 * An ONNX graph under construction, as plain data: no protobuf here, so layer emitters (which every layer kind
 * carries) stay free of the encoder and the browser build never pulls it in. encode.ts turns it into bytes.
 *
 * Every value in the graph carries the batch as its first axis, like Loom's tensors: a layer emitter receives a
 * value shaped [N, ...layer.inputShape] and returns one shaped [N, ...layer.outputShape].
 */

export type OnnxAttr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string };

export const int = (value: number): OnnxAttr => ({ kind: 'int', value });
export const float = (value: number): OnnxAttr => ({ kind: 'float', value });
export const ints = (value: readonly number[]): OnnxAttr => ({ kind: 'ints', value: [...value] });
export const str = (value: string): OnnxAttr => ({ kind: 'string', value });

export interface OnnxNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, OnnxAttr>>;
}

export type OnnxInitializer =
  | { readonly name: string; readonly type: 'float'; readonly dims: readonly number[]; readonly data: Float32Array }
  | { readonly name: string; readonly type: 'int64'; readonly dims: readonly number[]; readonly data: readonly number[] };

/**
 * What the graph reads of a layer parameter and of a layer, described here (a subset of layers/types.ts's Param and
 * Layer, which satisfy them) so that this file imports no layer file: the layer files import it, for their emitters.
 */
export interface OnnxParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
}

export interface OnnxLayer {
  readonly spec: { readonly type: string };
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  params(): readonly OnnxParam[];
  readonly skipBack?: number;
}

/**
 * Emits one layer: `x` is [N, ...layer.inputShape]; `skip` is the earlier activation a skip layer adds. `G` is the
 * layer type the graph dispatches on (layers/types.ts's Layer in practice).
 */
export type OnnxEmitter<L extends OnnxLayer = OnnxLayer, G extends OnnxLayer = OnnxLayer> = (layer: L, x: string, g: OnnxGraph<G>, skip?: string) => string;

/** The emitter of a layer that is the identity at inference (training-only noise: dropout, augmentation): no node. */
export const emitIdentity = (_layer: OnnxLayer, x: string): string => x;

/** How the graph reaches a layer's emitter (the registry, supplied by export.ts so this file does not import it). */
export type LayerDispatch<L extends OnnxLayer> = (layer: L, x: string, g: OnnxGraph<L>, skip?: string) => string;

export class OnnxGraph<L extends OnnxLayer = OnnxLayer> {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private readonly used = new Map<string, number>();
  private readonly paramNames = new Map<Float32Array, string>();

  constructor(private readonly dispatch: LayerDispatch<L>) {}

  /** A fresh value name starting with `hint`. */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.]/g, '_') || 'v';
    const n = this.used.get(base) ?? 0;
    this.used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  /** Adds a node with one output and returns that output's name. */
  op(op: string, inputs: readonly string[], attrs: Record<string, OnnxAttr> = {}): string {
    return this.opN(op, inputs, 1, attrs)[0] as string;
  }

  /** Adds a node with `outputs` outputs. An empty input name is ONNX's "optional input left out". */
  opN(op: string, inputs: readonly string[], outputs: number, attrs: Record<string, OnnxAttr> = {}): string[] {
    const name = this.fresh(op);
    const outs = Array.from({ length: outputs }, (_, i) => this.fresh(`${name}_out${i}`));
    this.nodes.push({ op, name, inputs: [...inputs], outputs: outs, attrs });
    return outs;
  }

  /** A float32 constant. */
  constant(hint: string, data: Float32Array | readonly number[], dims: readonly number[]): string {
    const values = data instanceof Float32Array ? Float32Array.from(data) : Float32Array.from(data);
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw specError('onnx export', `constant ${hint}: ${values.length} values for dims [${dims.join(', ')}]`);
    const name = this.fresh(hint);
    this.initializers.push({ name, type: 'float', dims: [...dims], data: values });
    return name;
  }

  scalar(hint: string, value: number): string {
    return this.constant(hint, [value], []);
  }

  /** An int64 constant (shapes, axes, indices); 1-D unless dims say otherwise. */
  int64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, type: 'int64', dims: [...dims], data: [...values] });
    return name;
  }

  /** A layer parameter as a float initializer, stored once however often it is used; `dims` reshape it. */
  param(p: OnnxParam, dims: readonly number[] = p.shape): string {
    const key = this.paramNames.get(p.value);
    if (key !== undefined && dims.length === p.shape.length && dims.every((d, i) => d === p.shape[i])) return key;
    const name = this.constant(`param.${p.name}`, p.value, dims);
    if (key === undefined) this.paramNames.set(p.value, name);
    return name;
  }

  /** Emits a child layer through its kind's emitter. */
  emit(layer: L, x: string, skip?: string): string {
    return this.dispatch(layer, x, this, skip);
  }

  /**
   * Emits layers in order as Loom's Chain runs them: a disabled layer is the identity, and a skip layer receives
   * the input of the position `skipBack` before it.
   */
  emitChain(layers: readonly L[], x: string, disabled: (i: number) => boolean = () => false): string {
    const inputs: string[] = [];
    let current = x;
    layers.forEach((layer, i) => {
      inputs.push(current);
      if (disabled(i)) return;
      if (layer.skipBack !== undefined) {
        const skip = inputs[i - layer.skipBack];
        if (skip === undefined) throw specError(`onnx export: ${layer.spec.type} at position ${i}`, `no layer ${layer.skipBack} position(s) back`);
        current = this.emit(layer, current, skip);
      } else {
        current = this.emit(layer, current);
      }
    });
    return current;
  }

  // ── small helpers every emitter uses ──────────────────────────────────────────────────────────────────

  /** Reshape keeping the batch: the result is [N, ...sample]. */
  reshape(x: string, sample: readonly number[]): string {
    return this.op('Reshape', [x, this.int64('shape', [0, ...sample])]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm: ints(perm) });
  }

  /** x·W + b over the last axis (W is [in][out], as every Loom kernel). */
  affine(x: string, kernel: OnnxParam, bias: OnnxParam | null): string {
    const y = this.op('MatMul', [x, this.param(kernel)]);
    return bias ? this.op('Add', [y, this.param(bias)]) : y;
  }

  /** Slice of the last axis [start, end). */
  sliceLast(x: string, start: number, end: number): string {
    return this.op('Slice', [x, this.int64('starts', [start]), this.int64('ends', [end]), this.int64('axes', [-1])]);
  }

  /** Named parameter of a layer; a missing one is an internal error naming the layer. */
  paramOf(layer: OnnxLayer, name: string): OnnxParam {
    const p = layer.params().find((q) => q.name === name);
    if (!p) throw specError(`onnx export: ${layer.spec.type}`, `no parameter "${name}"`);
    return p;
  }
}
