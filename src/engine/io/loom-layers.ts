import { modelFileError } from '../errors.js';
import { createLayer, layerRegistry } from '../layers/registry.js';
import type { ReshapeSpec } from '../layers/reshape.js';
import type { SequentialSpec } from '../layers/sequential.js';
import type { Layer, LayerKind } from '../layers/types.js';
import { Rng } from '../rng.js';
import { sameShape, sizeOf } from '../tensor.js';
import { fmtShape, typedSpec, type InputWidth, type LoomCoreRead, type LoomLayerDef, type LoomReadContext, type ReadLayer } from './loom-codec.js';

/**
 * LOOM's `LayerDefinition` (the cfg of a `modelhost/bundle`) ↔ Loom layer specs.
 *
 * LOOM runs every layer on a flat vector; Loom layers have shapes. Reading a LOOM definition therefore gives a
 * "core" layer plus adapters: a leading `reshape` when the core needs a shape the previous layer does not give
 * (an MHA after a Dense reads [seq, dModel]) and, inside a Parallel, a trailing `flatten` so branches combine flat
 * as in LOOM. Adapters are wrapped with the core in a `sequential`; `coreLayer` strips them again when writing, so
 * one LOOM definition always stands for one core layer.
 *
 * What each kind reads and writes is its `LayerKind.loom` codec (io/loom-codec.ts), in the kind's own file; this
 * module only finds the codec, adds the adapters and builds the layer.
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

/** LOOM type name → Loom kind, from the codecs' names and aliases (built on first use: the registry loads lazily). */
let byLoomType: ReadonlyMap<string, LayerKind> | undefined;
function loomTypes(): ReadonlyMap<string, LayerKind> {
  if (!byLoomType) {
    const map = new Map<string, LayerKind>();
    for (const kind of layerRegistry().values()) {
      if (!kind.loom) continue;
      for (const name of [kind.loom.type, ...(kind.loom.aliases ?? [])]) map.set(name, kind);
    }
    byLoomType = map;
  }
  return byLoomType;
}

/** Loom's kind for a LOOM type string (aliases folded; an unknown name is returned as it is). */
export const loomKindOf = (loomType: string): string => loomTypes().get(loomType)?.type ?? loomType;

/** The core spec of a LOOM definition, by its kind's codec. */
function readCore(def: LoomLayerDef, shape: readonly number[] | null, ctx: LoomReadContext): LoomCoreRead {
  const read = layerRegistry().get(loomKindOf(def.type))?.loom?.read;
  if (!read) {
    throw modelFileError(
      `${ctx.where}: LOOM layer type "${def.type}" cannot be read from its definition (bundles written by Loom carry the exact architecture in cfg.loomts)`,
    );
  }
  return read(def, shape, ctx);
}

/**
 * One LOOM definition as a Loom layer spec for the running shape (null: it is the network's first layer, and its
 * own sizes give the network's input shape, or `inputWidth` where they do not tell it, as a softmax's). Adds a
 * reshape in front when the core needs another shape.
 */
export function readLayerDef(def: unknown, shape: readonly number[] | null, where: string, rng: Rng, inputWidth?: InputWidth): ReadLayer {
  if (!def || typeof def !== 'object' || typeof (def as { type?: unknown }).type !== 'string') {
    throw modelFileError(`${where}: a layer definition must be an object with a string "type"`);
  }
  const d = def as LoomLayerDef;
  const label = `${where} (${d.type})`;
  const ctx: LoomReadContext = {
    where: label,
    rng,
    readChild: (child, childShape, childWhere) => readLayerDef(child, childShape, childWhere, rng, inputWidth),
    ...(inputWidth === undefined ? {} : { inputWidth }),
  };
  const core = readCore(d, shape, ctx);
  const input = shape ?? core.need;
  let spec = core.spec;
  if (!sameShape(core.need, input)) {
    if (sizeOf(core.need) !== sizeOf(input)) {
      throw modelFileError(`${label}: expects ${sizeOf(core.need)} values ${fmtShape(core.need)}, but the previous layer gives ${sizeOf(input)} (${fmtShape(input)})`);
    }
    spec = typedSpec<SequentialSpec>({ type: 'sequential', layers: [typedSpec<ReshapeSpec>({ type: 'reshape', shape: [...core.need] }), spec] });
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
