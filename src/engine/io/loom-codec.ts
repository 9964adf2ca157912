import { isActivation, type Activation } from '../activations.js';
import { modelFileError } from '../errors.js';
import type { Rng } from '../rng.js';
import { sizeOf } from '../tensor.js';

/**
 * The contract between a layer kind and LOOM's bundle format: each kind's file exports its `LoomCodec` on its
 * `LayerKind` (`loom`), and io/loom-layers.ts, loom-write.ts and loom-weights.ts drive the codecs without naming any
 * kind. This module is a leaf (it imports neither the registry nor layers/types.ts), so layer files can import it.
 */

/** A layer spec as codecs see it (layers/types.ts `LayerSpec`). */
export interface LoomSpec {
  readonly type: string;
}

/** What a codec reads of a built layer (the resolved spec and its shapes; layers/types.ts `Layer` has them). */
export interface LoomLayerView<S extends LoomSpec = LoomSpec> {
  readonly spec: S;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
}

/** One LOOM `LayerDefinition` (cfg.layers[i]), as JSON. */
export interface LoomLayerDef {
  readonly type: string;
  readonly [key: string]: unknown;
}

export type WeightsFormat = 'jsonModelB64' | 'multiPrecisionB64';

/** The width of the input samples, or a function that finds it (called only when a first layer needs it). */
export type InputWidth = number | (() => number);

/** A layer as read from a definition: the running shape it was built for and the shape it gives. */
export interface ReadLayer {
  readonly spec: LoomSpec;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
}

/** What a codec's `read` gives: the core spec and the input shape that core needs. */
export interface LoomCoreRead {
  readonly spec: LoomSpec;
  readonly need: readonly number[];
}

export interface LoomReadContext {
  /** Names the definition in errors ("LOOM bundle model "m" layer 2 (dense)"). */
  readonly where: string;
  readonly rng: Rng;
  /** Reads a child definition (Parallel branches, Sequential steps) for a running shape. */
  readonly readChild: (def: unknown, shape: readonly number[] | null, where: string) => ReadLayer;
  /** The input samples' width: the input size of a first layer whose definition does not tell it (asked only then). */
  readonly inputWidth?: InputWidth;
}

export interface LoomWriteContext {
  /** The definitions of the layer's children (Parallel branches, Sequential steps), in order. */
  readonly children: readonly LoomLayerDef[];
}

/**
 * One LOOM weight field and the param (or part of it) it holds. `transpose`: the field is the param's [rows][cols]
 * transposed. `block: [k, n]`: the field holds only the k-th of n equal blocks along the param's last axis (LSTM's
 * per-gate fields of the fused kernels), transposed as a whole block when `transpose` is set.
 */
export interface LoomWeightField {
  readonly param: string;
  readonly field: string;
  readonly transpose?: boolean;
  readonly block?: readonly [number, number];
  /** Another name the field is read from when `field` is absent. */
  readonly alias?: string;
  /** The value the param takes when a file lacks the field (default 0; norm gains 1, as LOOM runs them). */
  readonly missing?: number;
  /** A field LOOM never writes: its absence is normal, not worth a warning. */
  readonly optional?: boolean;
}

/** How a kind reads and writes LOOM definitions and weights. Absent on a kind: it cannot go into a bundle. */
export interface LoomCodec<S extends LoomSpec = LoomSpec> {
  /** The LOOM type name written for this kind. */
  readonly type: string;
  /** Other LOOM type names read as this kind. */
  readonly aliases?: readonly string[];
  /** Definition → core spec; absent: LOOM has no such layer, bundles carry it only in cfg.loomts. */
  read?(def: LoomLayerDef, shape: readonly number[] | null, ctx: LoomReadContext): LoomCoreRead;
  /** The definition's fields besides type and activation; absent: the type (and activation) alone. */
  write?(layer: LoomLayerView<S>, ctx: LoomWriteContext): Record<string, unknown>;
  /** Param ↔ weight-field table; params without an entry travel as `loomts.<param>`. */
  weights?(fmt: WeightsFormat): readonly LoomWeightField[];
}

// ── helpers for codecs ───────────────────────────────────────────────────────────────────────────────────────

export const weightField = (param: string, field: string, transpose = false, extra: Partial<LoomWeightField> = {}): LoomWeightField => ({
  param, field, transpose, ...extra,
});

const LOOM_ACTIVATIONS: Readonly<Record<string, Activation>> = {
  relu: 'scaled_relu', // LOOM's "relu" is ScaledReLU (1.1·x)
  unscaled_relu: 'relu', // how Loom writes its plain relu, which LOOM lacks
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softplus: 'softplus',
  leaky_relu: 'leaky_relu',
  linear: 'linear',
};

export function activationToLoom(a: Activation): string {
  if (a === 'scaled_relu') return 'relu';
  if (a === 'relu') return 'unscaled_relu';
  return a;
}

export function activationFromLoom(def: LoomLayerDef, where: string): Activation {
  const a = def.activation;
  if (a === undefined || a === '') return 'linear';
  if (typeof a === 'string') {
    const mapped = LOOM_ACTIVATIONS[a] ?? (isActivation(a) ? a : undefined);
    if (mapped) return mapped;
  }
  throw modelFileError(`${where}: unknown activation ${JSON.stringify(a)} (known: ${Object.keys(LOOM_ACTIVATIONS).join(', ')}, gelu, silu)`);
}

/** A non-negative integer field; 0 and absent are both "unset" (LOOM writes with omitempty). */
export function intField(def: LoomLayerDef, key: string, where: string): number | undefined {
  const v = def[key];
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw modelFileError(`${where}: ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

export function requireInt(def: LoomLayerDef, key: string, where: string): number {
  const v = intField(def, key, where);
  if (v === undefined) throw modelFileError(`${where}: needs a positive integer "${key}"`);
  return v;
}

export function numField(def: LoomLayerDef, key: string, where: string): number | undefined {
  const v = def[key];
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw modelFileError(`${where}: ${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function listField(def: LoomLayerDef, key: string, where: string): unknown[] | undefined {
  const v = def[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw modelFileError(`${where}: ${key} must be a list, got ${JSON.stringify(v)}`);
  return v;
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Checks a literal against its kind's spec type, returned as a plain LayerSpec. */
export const typedSpec = <S extends LoomSpec>(spec: S): LoomSpec => spec;

/** [size/width, width] unless the last axis already is `width`. */
export function rowsOf(shape: readonly number[] | null, width: number, where: string): number[] {
  if (!shape) return [width];
  if (shape[shape.length - 1] === width) return [...shape];
  const n = sizeOf(shape);
  if (n % width !== 0) throw modelFileError(`${where}: its width ${width} does not divide the ${n} values the previous layer gives (${fmtShape(shape)})`);
  return [n / width, width];
}

/** [seq, width] for sequence layers: the running values cut into `width`-wide steps. */
export function seqOf(shape: readonly number[] | null, width: number, seqLength: number | undefined, where: string): number[] {
  if (!shape) return [seqLength ?? 1, width];
  const n = sizeOf(shape);
  if (n % width !== 0) throw modelFileError(`${where}: its width ${width} does not divide the ${n} values the previous layer gives (${fmtShape(shape)})`);
  return [n / width, width];
}

/** A flat input: the running size, else `size` from the definition, else the input samples' width. */
export function flatNeed(shape: readonly number[] | null, size: number | undefined, ctx: Pick<LoomReadContext, 'where' | 'inputWidth'>): number[] {
  if (shape) return [sizeOf(shape)];
  const n = size ?? (typeof ctx.inputWidth === 'function' ? ctx.inputWidth() : ctx.inputWidth);
  if (n === undefined) throw modelFileError(`${ctx.where}: cannot tell the network's input size from this first layer; pass inputShape or inputWidth`);
  return [n];
}
