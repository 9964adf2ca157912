import { isActivation, type Activation } from '../activations.js';
import { modelFileError } from '../errors.js';
import { createLayer } from '../layers/registry.js';
import type { Conv1dSpec } from '../layers/conv1d.js';
import type { Conv2dSpec } from '../layers/conv2d.js';
import type { DenseSpec } from '../layers/dense.js';
import type { EmbeddingSpec } from '../layers/embedding.js';
import type { LayerNormSpec } from '../layers/layernorm.js';
import type { LstmSpec } from '../layers/lstm.js';
import type { MhaSpec } from '../layers/mha.js';
import type { ResidualSpec } from '../layers/residual.js';
import type { RmsNormSpec } from '../layers/rmsnorm.js';
import type { RnnSpec } from '../layers/rnn.js';
import type { SequentialSpec } from '../layers/sequential.js';
import type { SoftmaxSpec } from '../layers/softmax.js';
import type { SwigluSpec } from '../layers/swiglu.js';
import type { Layer, LayerSpec } from '../layers/types.js';
import { Rng } from '../rng.js';
import { sameShape, sizeOf } from '../tensor.js';

/**
 * LOOM's `LayerDefinition` (the cfg of a `modelhost/bundle`) ↔ Loom layer specs.
 *
 * LOOM runs every layer on a flat vector; Loom layers have shapes. Reading a LOOM definition therefore gives a
 * "core" layer plus adapters: a leading `reshape` when the core needs a shape the previous layer does not give
 * (an MHA after a Dense reads [seq, dModel]) and, inside a Parallel, a trailing `flatten` so branches combine flat
 * as in LOOM. Adapters are wrapped with the core in a `sequential`; `coreLayer` strips them again when writing, so
 * one LOOM definition always stands for one core layer.
 *
 * Reading follows what the file means, not LOOM's loader bugs: "linear" is linear; MHA uses head dim
 * d_model/num_heads everywhere (branches too), causal, RoPE θ = 1e6 as LOOM's CPU path; sparsemax is the real one;
 * residual adds the previous layer's input. Variants LOOM never implemented (adaptive, mixture softmax) load as
 * what LOOM computes (plain softmax, T = 1); LOOM's "hierarchical" is a grid softmax over the last level.
 *
 * Writing gives LOOM what it can express. What it cannot (non-causal or RoPE-less attention, per-position Dense,
 * conv1d channelsLast, non-square conv kernels or strides, row-wise softmax over a multi-row input, flatten/pool/
 * reshape layers, our activations relu/gelu/silu, filter gates, adaptive/mixture softmax fields, kvHeads, initScale)
 * is still written as the nearest definition (LOOM rejects the types it lacks), and the exact architecture travels
 * in cfg.loomts, which LOOM ignores and Loom rebuilds from, so Loom → bundle → Loom is always exact.
 */

export interface LoomLayerDef {
  readonly type: string;
  readonly [key: string]: unknown;
}

const LOOM_ACTIVATIONS: Readonly<Record<string, Activation>> = {
  relu: 'scaled_relu', // LOOM's "relu" is ScaledReLU (1.1·x)
  unscaled_relu: 'relu', // how Loom writes its plain relu, which LOOM lacks
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softplus: 'softplus',
  leaky_relu: 'leaky_relu',
  linear: 'linear',
};

const TYPE_ALIASES: Readonly<Record<string, string>> = {
  multi_head_attention: 'mha',
  layernorm: 'layer_norm',
  rmsnorm: 'rms_norm',
};

/** Loom's kind for a LOOM type string (aliases folded). */
export const loomKindOf = (loomType: string): string => TYPE_ALIASES[loomType] ?? loomType;

/** The LOOM type string Loom writes for a kind. */
export const loomTypeFor = (kind: string): string => (kind === 'mha' ? 'multi_head_attention' : kind);

export function activationToLoom(a: Activation): string {
  if (a === 'scaled_relu') return 'relu';
  if (a === 'relu') return 'unscaled_relu';
  return a;
}

function activationFromLoom(def: LoomLayerDef, where: string): Activation {
  const a = def.activation;
  if (a === undefined || a === '') return 'linear';
  if (typeof a === 'string') {
    const mapped = LOOM_ACTIVATIONS[a] ?? (isActivation(a) ? a : undefined);
    if (mapped) return mapped;
  }
  throw modelFileError(`${where}: unknown activation ${JSON.stringify(a)} (known: ${Object.keys(LOOM_ACTIVATIONS).join(', ')}, gelu, silu)`);
}

/** A non-negative integer field; 0 and absent are both "unset" (LOOM writes with omitempty). */
function intField(def: LoomLayerDef, key: string, where: string): number | undefined {
  const v = def[key];
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw modelFileError(`${where}: ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function requireInt(def: LoomLayerDef, key: string, where: string): number {
  const v = intField(def, key, where);
  if (v === undefined) throw modelFileError(`${where}: needs a positive integer "${key}"`);
  return v;
}

function numField(def: LoomLayerDef, key: string, where: string): number | undefined {
  const v = def[key];
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw modelFileError(`${where}: ${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function listField(def: LoomLayerDef, key: string, where: string): unknown[] | undefined {
  const v = def[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw modelFileError(`${where}: ${key} must be a list, got ${JSON.stringify(v)}`);
  return v;
}

/** The core spec of one definition and the input shape it needs, given the running shape (null: first layer). */
interface CoreRead {
  readonly spec: LayerSpec;
  readonly need: readonly number[];
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Checks a literal against its kind's spec type, returned as a plain LayerSpec. */
const typed = <S extends LayerSpec>(spec: S): LayerSpec => spec;

/** [size/width, width] unless the last axis already is `width`. */
function rowsOf(shape: readonly number[] | null, width: number, where: string): number[] {
  if (!shape) return [width];
  if (shape[shape.length - 1] === width) return [...shape];
  const n = sizeOf(shape);
  if (n % width !== 0) throw modelFileError(`${where}: its width ${width} does not divide the ${n} values the previous layer gives (${fmt(shape)})`);
  return [n / width, width];
}

function seqOf(shape: readonly number[] | null, width: number, seqLength: number | undefined, where: string): number[] {
  if (!shape) return [seqLength ?? 1, width];
  const n = sizeOf(shape);
  if (n % width !== 0) throw modelFileError(`${where}: its width ${width} does not divide the ${n} values the previous layer gives (${fmt(shape)})`);
  return [n / width, width];
}

function flatNeed(shape: readonly number[] | null, size: number | undefined, where: string): number[] {
  if (shape) return [sizeOf(shape)];
  if (size === undefined) throw modelFileError(`${where}: cannot tell the network's input size from this first layer; pass inputShape`);
  return [size];
}

function readSoftmax(def: LoomLayerDef, shape: readonly number[] | null, where: string): CoreRead {
  const variant = def.softmax_variant ?? 'standard';
  const temperature = numField(def, 'temperature', where) ?? 1;
  const rows = intField(def, 'softmax_rows', where);
  const cols = intField(def, 'softmax_cols', where);
  const standard = (t: number): CoreRead => ({ spec: typed<SoftmaxSpec>({ type: 'softmax', variant: 'standard', temperature: t }), need: flatNeed(shape, undefined, where) });
  const grid = (r: number, c: number): CoreRead => {
    const need = shape && (shape[shape.length - 1] === r * c || sizeOf(shape) === r * c) ? [...shape] : flatNeed(shape, r * c, where);
    return { spec: typed<SoftmaxSpec>({ type: 'softmax', variant: 'grid', rows: r, cols: c, temperature }), need };
  };
  switch (variant) {
    case 'standard':
    case 'temperature':
      return standard(temperature);
    case 'grid':
      // LOOM falls back to a standard softmax (T = 1) when the grid is not set
      return rows && cols ? grid(rows, cols) : standard(1);
    case 'hierarchical': {
      const levels = (listField(def, 'hierarchy_levels', where) ?? []) as number[];
      const total = shape ? sizeOf(shape) : levels.reduce((a, b) => a * b, 1);
      const last = levels[levels.length - 1];
      if (levels.length > 0 && last && levels.reduce((a, b) => a * b, 1) === total) return grid(total / last, last);
      return standard(temperature);
    }
    case 'gumbel':
    case 'sparse':
    case 'sparsemax':
      return { spec: typed<SoftmaxSpec>({ type: 'softmax', variant: variant === 'gumbel' ? 'gumbel' : 'sparsemax', temperature }), need: flatNeed(shape, undefined, where) };
    case 'masked': {
      const mask = listField(def, 'mask', where);
      if (!mask) return standard(temperature);
      if (!mask.every((m) => typeof m === 'boolean')) throw modelFileError(`${where}: mask must be a list of booleans`);
      return { spec: typed<SoftmaxSpec>({ type: 'softmax', variant: 'masked', mask: mask as boolean[], temperature }), need: flatNeed(shape, mask.length, where) };
    }
    case 'entmax': {
      const alpha = Math.max(1, numField(def, 'entmax_alpha', where) ?? 1.5);
      return { spec: typed<SoftmaxSpec>({ type: 'softmax', variant: 'entmax', alpha }), need: flatNeed(shape, undefined, where) };
    }
    case 'adaptive':
    case 'mixture':
      return standard(1);
    default:
      throw modelFileError(`${where}: unknown softmax_variant ${JSON.stringify(variant)}`);
  }
}

/** The core spec of a LOOM definition; composites read their children through `readLayerDef`. */
function readCore(def: LoomLayerDef, shape: readonly number[] | null, where: string, rng: Rng): CoreRead {
  const kind = loomKindOf(def.type);
  switch (kind) {
    case 'dense': {
      const units = intField(def, 'output_height', where) ?? intField(def, 'output_size', where) ?? requireInt(def, 'height', where);
      const inSize = intField(def, 'input_height', where) ?? intField(def, 'input_size', where) ?? intField(def, 'width', where);
      if (shape && inSize !== undefined && sizeOf(shape) !== inSize) {
        throw modelFileError(`${where}: dense expects input_height ${inSize} values, but the previous layer gives ${sizeOf(shape)} (${fmt(shape)})`);
      }
      return { spec: typed<DenseSpec>({ type: 'dense', units, activation: activationFromLoom(def, where) }), need: shape ? [...shape] : flatNeed(null, inSize, where) };
    }
    case 'conv2d': {
      const need = [requireInt(def, 'input_channels', where), requireInt(def, 'input_height', where), requireInt(def, 'input_width', where)];
      const spec = typed<Conv2dSpec>({
        type: 'conv2d', filters: requireInt(def, 'filters', where), kernelSize: requireInt(def, 'kernel_size', where),
        stride: intField(def, 'stride', where) ?? 1, padding: intField(def, 'padding', where) ?? 0, activation: activationFromLoom(def, where),
      });
      return { spec, need };
    }
    case 'conv1d': {
      const length = intField(def, 'input_length', where) ?? intField(def, 'input_height', where);
      const channels = intField(def, 'input_channels', where) ?? 1;
      const need = length !== undefined ? [channels, length] : shape ? [channels, sizeOf(shape) / channels] : flatNeed(null, undefined, where);
      const spec = typed<Conv1dSpec>({
        type: 'conv1d', filters: requireInt(def, 'filters', where), kernelSize: requireInt(def, 'kernel_size', where),
        stride: intField(def, 'stride', where) ?? 1, padding: intField(def, 'padding', where) ?? 0, activation: activationFromLoom(def, where),
      });
      return { spec, need };
    }
    case 'mha': {
      const dModel = requireInt(def, 'd_model', where);
      const heads = requireInt(def, 'num_heads', where);
      const rope = (dModel / heads) % 2 === 0;
      const spec = typed<MhaSpec>({ type: 'mha', heads, causal: true, rope, ropeTheta: 1e6 });
      return { spec, need: seqOf(shape, dModel, intField(def, 'seq_length', where), where) };
    }
    case 'rnn':
    case 'lstm': {
      const hidden = requireInt(def, 'hidden_size', where);
      const inSize = intField(def, 'input_size', where) ?? hidden;
      return { spec: kind === 'rnn' ? typed<RnnSpec>({ type: 'rnn', hidden }) : typed<LstmSpec>({ type: 'lstm', hidden }), need: seqOf(shape, inSize, intField(def, 'seq_length', where), where) };
    }
    case 'softmax':
      return readSoftmax(def, shape, where);
    case 'layer_norm':
    case 'rms_norm': {
      const width = intField(def, 'norm_size', where) ?? (shape ? (shape[shape.length - 1] as number) : requireInt(def, 'norm_size', where));
      const epsilon = numField(def, 'epsilon', where) ?? 1e-5;
      const spec = kind === 'layer_norm' ? typed<LayerNormSpec>({ type: 'layer_norm', epsilon }) : typed<RmsNormSpec>({ type: 'rms_norm', epsilon });
      return { spec, need: rowsOf(shape, width, where) };
    }
    case 'swiglu': {
      const width = requireInt(def, 'input_height', where);
      return { spec: typed<SwigluSpec>({ type: 'swiglu', hidden: requireInt(def, 'output_height', where) }), need: rowsOf(shape, width, where) };
    }
    case 'embedding': {
      const length = intField(def, 'input_length', where);
      const spec = typed<EmbeddingSpec>({ type: 'embedding', vocab: requireInt(def, 'vocab_size', where), dim: requireInt(def, 'embedding_dim', where) });
      return { spec, need: length !== undefined ? [length] : flatNeed(shape, undefined, where) };
    }
    case 'residual':
      if (!shape) throw modelFileError(`${where}: a residual cannot be the first layer`);
      return { spec: typed<ResidualSpec>({ type: 'residual', back: 1 }), need: [...shape] };
    case 'parallel':
      return readParallel(def, shape, where, rng);
    case 'sequential': {
      const steps = (listField(def, 'branches', where) ?? []) as LoomLayerDef[];
      if (steps.length === 0) throw modelFileError(`${where}: a sequential needs branches (its steps)`);
      let running = shape;
      let need: readonly number[] | null = null;
      const layers = steps.map((step, i) => {
        const read = readLayerDef(step, running, `${where} step ${i}`, rng);
        need ??= read.inputShape;
        running = read.outputShape;
        return read.spec;
      });
      return { spec: typed<SequentialSpec>({ type: 'sequential', layers }), need: need ?? [] };
    }
    default:
      throw modelFileError(
        `${where}: LOOM layer type "${def.type}" cannot be read from its definition (bundles written by Loom carry the exact architecture in cfg.loomts)`,
      );
  }
}

function readParallel(def: LoomLayerDef, shape: readonly number[] | null, where: string, rng: Rng): CoreRead {
  const defs = (listField(def, 'branches', where) ?? []) as LoomLayerDef[];
  if (defs.length === 0) throw modelFileError(`${where}: a parallel needs branches`);
  const first = readLayerDef(defs[0] as LoomLayerDef, shape, `${where} branch 0`, rng);
  const input = shape ?? first.inputShape;
  const branches = defs.map((b, i) => {
    const read = i === 0 ? first : readLayerDef(b, input, `${where} branch ${i}`, rng);
    // LOOM combines branch outputs as flat vectors
    return read.outputShape.length === 1 ? read.spec : appendFlatten(read.spec);
  });
  const mode = def.combine_mode === undefined || def.combine_mode === '' ? 'concat' : def.combine_mode === 'average' ? 'avg' : def.combine_mode;
  const spec: Record<string, unknown> = { type: 'parallel', branches, combine: mode };
  if (mode === 'grid_scatter') {
    const rows = intField(def, 'grid_output_rows', where);
    const cols = intField(def, 'grid_output_cols', where);
    const layers = intField(def, 'grid_output_layers', where);
    if (rows !== undefined) spec.gridRows = rows;
    if (cols !== undefined) spec.gridCols = cols;
    if (layers !== undefined) spec.gridLayers = layers;
    const positions = listField(def, 'grid_positions', where);
    if (positions) {
      const byBranch = new Map<number, { row: number; col: number; layer: number }>();
      for (const p of positions as Record<string, unknown>[]) {
        const idx = Number(p.branch_index ?? 0);
        byBranch.set(idx, { row: Number(p.target_row ?? 0), col: Number(p.target_col ?? 0), layer: Number(p.target_layer ?? 0) });
      }
      spec.positions = branches.map((_, i) => {
        const p = byBranch.get(i);
        if (!p) throw modelFileError(`${where}: grid_positions has no entry for branch ${i}`);
        return p;
      });
    }
  } else if (mode === 'filter') {
    spec.temperature = numField(def, 'temperature', where) ?? 1;
  }
  return { spec: spec as unknown as LayerSpec, need: [...input] };
}

function appendFlatten(spec: LayerSpec): LayerSpec {
  const steps = isAdapterWrap(spec) ? (spec as SequentialSpec).layers : [spec];
  return typed<SequentialSpec>({ type: 'sequential', layers: [...steps, { type: 'flatten' }] });
}

/** A sequential that Loom made around a core when reading (reshape in front); its steps are what `coreLayer` strips. */
const isAdapterWrap = (spec: LayerSpec): boolean => {
  if (spec.type !== 'sequential') return false;
  const steps = (spec as SequentialSpec).layers ?? [];
  return steps.length === 2 && steps[0]?.type === 'reshape';
};

export interface ReadLayer {
  readonly spec: LayerSpec;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
}

/**
 * One LOOM definition as a Loom layer spec for the running shape (null: it is the network's first layer, and its
 * own sizes give the network's input shape). Adds a reshape in front when the core needs another shape.
 */
export function readLayerDef(def: unknown, shape: readonly number[] | null, where: string, rng: Rng): ReadLayer {
  if (!def || typeof def !== 'object' || typeof (def as { type?: unknown }).type !== 'string') {
    throw modelFileError(`${where}: a layer definition must be an object with a string "type"`);
  }
  const d = def as LoomLayerDef;
  const label = `${where} (${d.type})`;
  const core = readCore(d, shape, label, rng);
  const input = shape ?? core.need;
  let spec = core.spec;
  if (!sameShape(core.need, input)) {
    if (sizeOf(core.need) !== sizeOf(input)) {
      throw modelFileError(`${label}: expects ${sizeOf(core.need)} values ${fmt(core.need)}, but the previous layer gives ${sizeOf(input)} (${fmt(input)})`);
    }
    spec = typed<SequentialSpec>({ type: 'sequential', layers: [{ type: 'reshape', shape: [...core.need] } as LayerSpec, spec] });
  }
  let layer: Layer;
  try {
    layer = createLayer(spec, input, rng);
  } catch (err) {
    throw modelFileError(`${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { spec: layer.spec, inputShape: [...input], outputShape: [...layer.outputShape] };
}

/** A throwaway generator for the layers built only to learn shapes. */
export const shapeRng = (): Rng => new Rng(0);

/**
 * The layer a LOOM definition stands for: a sequential of [reshape or flatten?, X, flatten or reshape?] with at
 * least one such adapter is X (LOOM is flat, so the adapters are implicit there).
 */
export function coreLayer(layer: Layer): Layer {
  if (layer.spec.type !== 'sequential' || !layer.children) return layer;
  const steps = layer.children();
  const isAdapter = (l: Layer | undefined): boolean =>
    l !== undefined && (l.spec.type === 'flatten' || (l.spec.type === 'reshape' && (l.spec as { pad?: boolean }).pad !== true));
  let from = 0;
  let to = steps.length;
  if (isAdapter(steps[0])) from++;
  if (to - from > 1 && isAdapter(steps[to - 1])) to--;
  const core = steps[from];
  if (to - from !== 1 || (from === 0 && to === steps.length) || !core || isAdapter(core) || core.skipBack !== undefined) return layer;
  return core;
}
