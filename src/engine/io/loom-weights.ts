import { modelFileError } from '../errors.js';
import type { Layer, Param } from '../layers/types.js';
import { coreLayer } from './loom-layers.js';

/**
 * Loom params ↔ LOOM `LayerWeights` fields, per layer kind. Layouts (LOOM in-memory order):
 * - Dense kernel [in][out], MHA q/k/v/output [in][out], SwiGLU gate/up [H][I] and down [I][H]: same as ours.
 * - Conv kernels [filters][channels][kh][kw] (conv1d [filters][channels][k]): same as ours. The bias is
 *   `conv_bias` in jsonModelB64 and `biases` in multiPrecisionB64 (as LOOM writes them).
 * - RNN weight_ih [hidden][in], weight_hh [hidden][hidden]: transposed from ours ([in][hidden], [hidden][hidden]).
 * - LSTM per-gate weight_i{i,f,g,o} [hidden][in], weight_h{…} [hidden][hidden], bias_{…}: ours fuse the gates
 *   i, f, g, o along the last axis of kernel [in][4h], recurrentKernel [h][4h], bias [4h].
 * Fields LOOM does not have (Loom extensions, ignored by LOOM): embedding_weights [vocab][dim] (LOOM never saved
 * embeddings), filter_gate_kernel [in][branches] and filter_gate_bias (LOOM never saved a filter gate: without
 * one the gate is uniform, as in LOOM), and `loomts.<param>` for any param of a kind without a table entry.
 */

export interface LayerWeights {
  readonly fields: Map<string, Float32Array>;
  readonly branches: LayerWeights[];
}

export type WeightsFormat = 'jsonModelB64' | 'multiPrecisionB64';

interface FieldMap {
  readonly param: string;
  readonly field: string;
  readonly transpose?: boolean;
}

const f = (param: string, field: string, transpose = false): FieldMap => ({ param, field, transpose });
const conv = (fmt: WeightsFormat): FieldMap[] => [f('kernel', 'kernel'), f('bias', fmt === 'jsonModelB64' ? 'conv_bias' : 'biases')];

function tableFor(kind: string, fmt: WeightsFormat): FieldMap[] | undefined {
  switch (kind) {
    case 'dense':
      return [f('kernel', 'kernel'), f('bias', 'biases')];
    case 'conv2d':
    case 'conv1d':
      return conv(fmt);
    case 'mha':
      return [
        f('qKernel', 'q_weights'), f('kKernel', 'k_weights'), f('vKernel', 'v_weights'), f('outKernel', 'output_weight'),
        f('qBias', 'q_bias'), f('kBias', 'k_bias'), f('vBias', 'v_bias'), f('outBias', 'output_bias'),
      ];
    case 'rnn':
      return [f('kernel', 'weight_ih', true), f('recurrentKernel', 'weight_hh', true), f('bias', 'bias_h')];
    case 'layer_norm':
      return [f('gamma', 'gamma'), f('beta', 'beta')];
    case 'rms_norm':
      return [f('gamma', 'gamma')];
    case 'swiglu':
      return [
        f('gate.kernel', 'gate_weights'), f('up.kernel', 'up_weights'), f('down.kernel', 'down_weights'),
        f('gate.bias', 'gate_bias'), f('up.bias', 'up_bias'), f('down.bias', 'down_bias'),
      ];
    case 'embedding':
      return [f('table', 'embedding_weights')];
    case 'parallel':
      return [f('gate.kernel', 'filter_gate_kernel'), f('gate.bias', 'filter_gate_bias')];
    default:
      return undefined;
  }
}

const GATES = ['i', 'f', 'g', 'o'] as const;

/** [rows][cols] → [cols][rows]. */
function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c] as number;
  return out;
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
  if (core.spec.type === 'lstm') {
    const kernel = params.get('kernel') as Param;
    const recurrent = params.get('recurrentKernel') as Param;
    const bias = params.get('bias') as Param;
    const h = bias.value.length / 4;
    const inSize = kernel.value.length / (4 * h);
    const full = [transpose(kernel.value, inSize, 4 * h), transpose(recurrent.value, h, 4 * h)]; // [4h][in], [4h][h]
    GATES.forEach((g, k) => {
      fields.set(`weight_i${g}`, full[0]!.slice(k * h * inSize, (k + 1) * h * inSize));
      fields.set(`weight_h${g}`, full[1]!.slice(k * h * h, (k + 1) * h * h));
      fields.set(`bias_${g}`, bias.value.slice(k * h, (k + 1) * h));
    });
    params.clear();
  }
  for (const m of tableFor(core.spec.type, fmt) ?? []) {
    const p = params.get(m.param);
    if (!p) continue;
    fields.set(m.field, m.transpose ? transpose(p.value, p.shape[0] as number, p.shape[1] as number) : Float32Array.from(p.value));
    params.delete(m.param);
  }
  for (const p of params.values()) fields.set(`loomts.${p.name}`, Float32Array.from(p.value));
  const branches = core.children ? core.children().map((c) => layerWeights(c, fmt)) : [];
  return { fields, branches };
}

/** Fields LOOM never writes: their absence is normal, not worth a warning. */
const OPTIONAL_FIELDS = new Set(['filter_gate_kernel', 'filter_gate_bias']);

/**
 * Copies LOOM weight fields into a layer's params. A field of the wrong length is an error; a missing one leaves
 * the param as LOOM would have it (zeros, norms' γ = 1) and adds a warning.
 */
export function applyLayerWeights(layer: Layer, weights: LayerWeights, where: string, warnings: string[]): void {
  const core = coreLayer(layer);
  const params = new Map(ownParams(core).map((p) => [p.name, p]));
  const missing: string[] = [];
  const take = (field: string, length: number): Float32Array | undefined => {
    const alt = field === 'conv_bias' ? 'biases' : undefined; // multiPrecisionB64 keeps conv biases under "biases"
    const v = weights.fields.get(field) ?? (alt === undefined ? undefined : weights.fields.get(alt));
    if (v === undefined) {
      if (!OPTIONAL_FIELDS.has(field)) missing.push(field);
      return undefined;
    }
    if (v.length !== length) throw modelFileError(`${where}: weight field ${field} has ${v.length} values, expected ${length}`);
    return v;
  };
  if (core.spec.type === 'lstm') {
    const kernel = params.get('kernel') as Param;
    const recurrent = params.get('recurrentKernel') as Param;
    const bias = params.get('bias') as Param;
    const h = bias.value.length / 4;
    const inSize = kernel.value.length / (4 * h);
    const ih = new Float32Array(4 * h * inSize);
    const hh = new Float32Array(4 * h * h);
    GATES.forEach((g, k) => {
      const wi = take(`weight_i${g}`, h * inSize);
      const wh = take(`weight_h${g}`, h * h);
      const b = take(`bias_${g}`, h);
      if (wi) ih.set(wi, k * h * inSize);
      if (wh) hh.set(wh, k * h * h);
      bias.value.fill(0, k * h, (k + 1) * h);
      if (b) bias.value.set(b, k * h);
    });
    kernel.value.set(transpose(ih, 4 * h, inSize));
    recurrent.value.set(transpose(hh, 4 * h, h));
    params.clear();
  }
  for (const m of tableFor(core.spec.type, 'jsonModelB64') ?? []) {
    const p = params.get(m.param);
    if (!p) continue;
    params.delete(m.param);
    const v = take(m.field, p.value.length);
    if (!v) p.value.fill(m.param === 'gamma' ? 1 : 0);
    else p.value.set(m.transpose ? transpose(v, p.shape[1] as number, p.shape[0] as number) : v);
  }
  for (const p of params.values()) {
    const v = take(`loomts.${p.name}`, p.value.length);
    if (v) p.value.set(v);
    else p.value.fill(0);
  }
  if (missing.length > 0) {
    const gamma = missing.includes('gamma') ? ' (γ ones)' : '';
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
