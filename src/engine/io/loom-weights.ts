import { modelFileError } from '../errors.js';
import { layerRegistry } from '../layers/registry.js';
import type { Layer, Param } from '../layers/types.js';
import type { LoomWeightField, WeightsFormat } from './loom-codec.js';
import { coreLayer } from './loom-layers.js';

export type { WeightsFormat } from './loom-codec.js';

/**
 * Loom params ↔ LOOM `LayerWeights` fields. Each kind's codec (`LayerKind.loom.weights`, in the kind's file) names
 * its fields and layouts: most are our params as they are (LOOM's in-memory order), RNN's are transposed, LSTM's
 * are per-gate blocks of our fused kernels. Params without a field travel as `loomts.<param>` (ignored by LOOM).
 * Children are written under branch_weights.
 */

export interface LayerWeights {
  readonly fields: Map<string, Float32Array>;
  readonly branches: LayerWeights[];
}

const fieldTable = (layer: Layer, fmt: WeightsFormat): readonly LoomWeightField[] =>
  layerRegistry().get(layer.spec.type)?.loom?.weights?.(fmt) ?? [];

/** The param's values as the field holds them: the block (k of n along the last axis), transposed if asked. */
function toField(p: Param, m: LoomWeightField): Float32Array {
  const cols = p.shape[p.shape.length - 1] as number;
  const rows = p.value.length / cols;
  const [k, n] = m.block ?? [0, 1];
  const width = cols / n;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      const v = p.value[r * cols + k * width + c] as number;
      out[m.transpose ? c * rows + r : r * width + c] = v;
    }
  }
  return out;
}

/** Writes a field's values (or `fill` where the field is absent) into the param's block, undoing the transpose. */
function fromField(p: Param, m: LoomWeightField, v: Float32Array | undefined, fill: number): void {
  const cols = p.shape[p.shape.length - 1] as number;
  const rows = p.value.length / cols;
  const [k, n] = m.block ?? [0, 1];
  const width = cols / n;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      p.value[r * cols + k * width + c] = v === undefined ? fill : (v[m.transpose ? c * rows + r : r * width + c] as number);
    }
  }
}

/** Own params of a layer (children's are written under branch_weights). */
function ownParams(layer: Layer): Param[] {
  const all = layer.params();
  if (!layer.children) return all;
  return all.filter((p) => !/^(branch|step)\.\d+\./.test(p.name));
}

/** The LOOM weight fields of a layer (adapters stripped, children as branch_weights). */
export function layerWeights(layer: Layer, fmt: WeightsFormat): LayerWeights {
  const core = coreLayer(layer);
  const fields = new Map<string, Float32Array>();
  const params = new Map(ownParams(core).map((p) => [p.name, p]));
  const used = new Set<string>();
  for (const m of fieldTable(core, fmt)) {
    const p = params.get(m.param);
    if (!p) continue;
    fields.set(m.field, toField(p, m));
    used.add(m.param);
  }
  for (const p of params.values()) if (!used.has(p.name)) fields.set(`loomts.${p.name}`, Float32Array.from(p.value));
  const branches = core.children ? core.children().map((c) => layerWeights(c, fmt)) : [];
  return { fields, branches };
}

/**
 * Copies LOOM weight fields into a layer's params. A field of the wrong length is an error; a missing one leaves
 * the param as LOOM would have it (zeros, norms' γ = 1) and adds a warning.
 */
export function applyLayerWeights(layer: Layer, weights: LayerWeights, where: string, warnings: string[]): void {
  const core = coreLayer(layer);
  const params = new Map(ownParams(core).map((p) => [p.name, p]));
  const missing: string[] = [];
  let missingOnes = false;
  const take = (m: Pick<LoomWeightField, 'field' | 'alias' | 'optional' | 'missing'>, length: number): Float32Array | undefined => {
    const v = weights.fields.get(m.field) ?? (m.alias === undefined ? undefined : weights.fields.get(m.alias));
    if (v === undefined) {
      if (!m.optional) missing.push(m.field);
      if (m.missing === 1) missingOnes = true;
      return undefined;
    }
    if (v.length !== length) throw modelFileError(`${where}: weight field ${m.field} has ${v.length} values, expected ${length}`);
    return v;
  };
  const used = new Set<string>();
  for (const m of fieldTable(core, 'jsonModelB64')) {
    const p = params.get(m.param);
    if (!p) continue;
    used.add(m.param);
    fromField(p, m, take(m, p.value.length / (m.block?.[1] ?? 1)), m.missing ?? 0);
  }
  for (const p of params.values()) {
    if (used.has(p.name)) continue;
    const v = take({ field: `loomts.${p.name}` }, p.value.length);
    if (v) p.value.set(v);
    else p.value.fill(0);
  }
  if (missing.length > 0) {
    const gamma = missingOnes ? ' (γ ones)' : '';
    warnings.push(`${where}: no ${missing.join(', ')} in the bundle; those weights are zeros${gamma}, as LOOM would run them`);
  }
  const children = core.children ? core.children() : [];
  if (children.length === 0) return;
  if (weights.branches.length !== children.length && weights.branches.length !== 0) {
    throw modelFileError(`${where}: branch_weights has ${weights.branches.length} entries for ${children.length} branches`);
  }
  children.forEach((child, i) => {
    applyLayerWeights(child, weights.branches[i] ?? { fields: new Map(), branches: [] }, `${where} branch ${i} (${coreLayer(child).spec.type})`, warnings);
  });
}
