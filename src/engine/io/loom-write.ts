import type { Activation } from '../activations.js';
import type { Layer } from '../layers/types.js';
import { sizeOf } from '../tensor.js';
import { activationToLoom, coreLayer, loomTypeFor, type LoomLayerDef } from './loom-layers.js';

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

function ordered(fields: Record<string, unknown>): LoomLayerDef {
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) {
    const v = fields[k];
    if (v === undefined || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out as unknown as LoomLayerDef;
}

const last = (shape: readonly number[]): number => shape[shape.length - 1] as number;
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0] as number, v[1] as number] : [v as number, v as number]);

/** The LOOM definition of a layer (adapters stripped, children recursively). */
export function layerDef(layer: Layer): LoomLayerDef {
  const core = coreLayer(layer);
  const spec = core.spec as unknown as Record<string, unknown>;
  const kind = core.spec.type;
  const activation = typeof spec.activation === 'string' ? activationToLoom(spec.activation as Activation) : 'linear';
  const base = { type: loomTypeFor(kind), activation };
  const inShape = core.inputShape;
  const outShape = core.outputShape;
  switch (kind) {
    case 'dense':
      return ordered({ ...base, input_height: spec.perPosition ? last(inShape) : sizeOf(inShape), output_height: spec.units });
    case 'conv2d': {
      const [kH] = pair(spec.kernelSize);
      const [sH] = pair(spec.stride);
      const pad = spec.padding === 'same' ? (kH - 1) / 2 : pair(spec.padding)[0];
      return ordered({
        ...base, input_channels: inShape[0], filters: spec.filters, kernel_size: kH, stride: sH, padding: pad,
        input_height: inShape[1], input_width: inShape[2], output_height: outShape[1], output_width: outShape[2],
      });
    }
    case 'conv1d': {
      const channelsLast = spec.channelsLast === true;
      const k = spec.kernelSize as number;
      return ordered({
        ...base, input_channels: channelsLast ? inShape[1] : inShape[0], filters: spec.filters, kernel_size: k, stride: spec.stride,
        padding: spec.padding === 'same' ? (k - 1) / 2 : spec.padding, input_length: channelsLast ? inShape[0] : inShape[1],
      });
    }
    case 'mha':
      return ordered({ ...base, d_model: inShape[1], num_heads: spec.heads, seq_length: inShape[0] });
    case 'rnn':
    case 'lstm':
      return ordered({ ...base, input_size: inShape[1], hidden_size: spec.hidden, seq_length: inShape[0] });
    case 'softmax':
      return ordered({
        ...base,
        softmax_variant: spec.variant === 'sparsemax' ? 'sparse' : spec.variant,
        softmax_rows: spec.rows, softmax_cols: spec.cols, temperature: spec.temperature, mask: spec.mask,
        hierarchy_levels: spec.levels, adaptive_clusters: spec.clusters, entmax_alpha: spec.alpha,
      });
    case 'layer_norm':
    case 'rms_norm':
      return ordered({ ...base, norm_size: last(inShape), epsilon: spec.epsilon });
    case 'swiglu':
      return ordered({ ...base, input_height: last(inShape), output_height: spec.hidden });
    case 'embedding':
      return ordered({ ...base, vocab_size: spec.vocab, embedding_dim: spec.dim, input_length: sizeOf(inShape) });
    case 'parallel': {
      const children = core.children?.() ?? [];
      const mode = spec.combine as string;
      const positions = spec.positions as { row: number; col: number; layer: number }[] | undefined;
      return ordered({
        ...base,
        temperature: mode === 'filter' ? spec.temperature : undefined,
        branches: children.map(layerDef),
        combine_mode: mode,
        grid_positions: positions?.map((p, i) => ({ branch_index: i, target_row: p.row, target_col: p.col, target_layer: p.layer })),
        grid_output_rows: spec.gridRows, grid_output_cols: spec.gridCols, grid_output_layers: spec.gridLayers,
      });
    }
    case 'sequential':
      return ordered({ ...base, branches: (core.children?.() ?? []).map(layerDef) });
    default:
      // residual, and kinds LOOM does not have (flatten, pool, reshape, …): the type alone
      return ordered(base);
  }
}
