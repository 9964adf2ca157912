import { specError } from '../../errors.js';
import { layerKind } from '../../layers/registry.js';
import type { Layer } from '../../layers/types.js';
import type { Network } from '../../network.js';
import type { Preprocessing } from '../../preprocess.js';
import { int, OnnxGraph, type OnnxEmitter } from './graph.js';

/** ONNX's standard operator set this exporter targets (LayerNormalization needs 17). */
export const ONNX_OPSET = 17;

/** A graph input or output: float32 or int64, batch first (the symbolic dimension "N"). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly type: 'float' | 'int64';
  readonly sampleShape: readonly number[];
}

/** Everything encode.ts needs: the graph, its interface and free metadata (strings, as ONNX's metadata_props). */
export interface OnnxModel {
  readonly graph: OnnxGraph<Layer>;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly name: string;
}

export interface OnnxExportOptions {
  /** Applied inside the graph: missing numbers' fills (IsNaN, Where), z-score normalization as Sub and Div. */
  readonly preprocessing?: Preprocessing;
  readonly modelId?: string;
  /** Free JSON stored as metadata_props (values JSON-encoded unless strings). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Looks a layer's emitter up in the registry: the one place a layer type becomes ONNX operators. */
function dispatch(layer: Layer, x: string, g: OnnxGraph<Layer>, skip?: string): string {
  const emitter: OnnxEmitter<Layer, Layer> | undefined = layerKind(layer.spec.type).onnx;
  if (!emitter) throw specError('onnx export', `layer type "${layer.spec.type}" has no ONNX form`);
  return emitter(layer, x, g, skip);
}

/**
 * The network as an ONNX graph: input "input" [N, ...inputShape] of raw values (normalized inside the graph when
 * the preprocessing says so), output "output" exactly as Network.forward computes it (probabilities when the
 * network ends in a softmax, else logits) and, for one row of class scores per sample, "label" (the argmax).
 */
export function networkToOnnx(network: Network, options: OnnxExportOptions = {}): OnnxModel {
  const g = new OnnxGraph<Layer>(dispatch);
  const shape = network.inputShape;
  let x = 'input';
  const p = options.preprocessing;
  if (p?.columns) {
    // A table with text or missing values: the graph takes its encoded inputs (categories one-hot, as the
    // metadata's preprocessing.columns name them) and fills a missing number, NaN, with its column's training mean.
    const fills = p.columns.flatMap((c) => (c.kind === 'number' ? [c.fill] : c.values.map(() => 0)));
    x = g.op('Where', [g.op('IsNaN', [x]), g.constant('preprocess_fill', fills, shape), x]);
  }
  if (p && p.normalization.kind === 'zscore') {
    x = g.op('Sub', [x, g.constant('preprocess_mean', p.normalization.mean, shape)]);
    x = g.op('Div', [x, g.constant('preprocess_std', p.normalization.std, shape)]);
  }
  const y = g.emitChain(network.layers, x, (i) => network.isDisabled(i));
  g.nodes.push({ op: 'Identity', name: g.fresh('output_identity'), inputs: [y], outputs: ['output'], attrs: {} });
  const outputs: OnnxValueInfo[] = [{ name: 'output', type: 'float', sampleShape: network.outputShape }];
  if (network.outputShape.length === 1) {
    g.nodes.push({ op: 'ArgMax', name: g.fresh('label_argmax'), inputs: ['output'], outputs: ['label'], attrs: { axis: int(-1), keepdims: int(0) } });
    outputs.push({ name: 'label', type: 'int64', sampleShape: [] });
  }
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if (value !== undefined) metadata[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  if (p) {
    metadata.preprocessing = JSON.stringify(p);
    metadata.classes = JSON.stringify(p.classes);
  }
  metadata.blueprint = JSON.stringify(network.spec);
  return {
    graph: g,
    inputs: [{ name: 'input', type: 'float', sampleShape: shape }],
    outputs,
    metadata,
    name: options.modelId ?? (network.modelId || 'loom-model'),
  };
}
