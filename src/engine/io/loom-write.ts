import type { Activation } from '../activations.js';
import { modelFileError } from '../errors.js';
import { layerRegistry } from '../layers/registry.js';
import type { Layer } from '../layers/types.js';
import { activationToLoom, type LoomLayerDef } from './loom-codec.js';
import { coreLayer } from './loom-layers.js';

/**
 * Loom layer → LOOM `LayerDefinition`, with LOOM's field names and its key order (type, activation, then the
 * struct order); zero and empty fields are left out as LOOM's omitempty does. See loom-layers.ts for what LOOM
 * cannot express.
 */

const KEY_ORDER = [
  'type', 'activation', 'width', 'height', 'input_size', 'output_size',
  'input_channels', 'filters', 'kernel_size', 'stride', 'padding', 'input_height', 'input_width', 'output_height', 'output_width',
  'd_model', 'num_heads', 'seq_length', 'hidden_size',
  'softmax_variant', 'softmax_rows', 'softmax_cols', 'temperature', 'gumbel_noise', 'mask', 'hierarchy_levels', 'adaptive_clusters',
  'mixture_weights', 'entmax_alpha',
  'norm_size', 'epsilon', 'vocab_size', 'embedding_dim', 'input_length',
  'branches', 'combine_mode', 'grid_positions', 'grid_output_rows', 'grid_output_cols', 'grid_output_layers',
];

/** LOOM's key order first, then any field a codec adds that LOOM lacks (in the codec's order). */
function ordered(fields: Record<string, unknown>): LoomLayerDef {
  const out: Record<string, unknown> = {};
  const keys = [...KEY_ORDER, ...Object.keys(fields).filter((k) => !KEY_ORDER.includes(k))];
  for (const k of keys) {
    const v = fields[k];
    if (v === undefined || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return { type: String(out.type), ...out };
}

/** The LOOM definition of a layer (adapters stripped, children recursively), written by its kind's codec. */
export function layerDef(layer: Layer): LoomLayerDef {
  const core = coreLayer(layer);
  const type = core.spec.type;
  const codec = layerRegistry().get(type)?.loom;
  if (!codec) {
    throw modelFileError(`layer type "${type}" has no LOOM form, so this network cannot be written as a LOOM bundle (save it as a Loom model file instead)`);
  }
  const activation = (core.spec as { activation?: unknown }).activation;
  const base = { type: codec.type, activation: typeof activation === 'string' ? activationToLoom(activation as Activation) : 'linear' };
  const children = (core.children?.() ?? []).map(layerDef);
  return ordered({ ...base, ...codec.write?.(core, { children }) });
}
