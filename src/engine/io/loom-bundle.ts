import { modelFileError } from '../errors.js';
import { Network, type NetworkSpec } from '../network.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { float32ToString } from './float16.js';
import type { InputWidth, LoomLayerDef } from './loom-codec.js';
import { coreLayer, loomKindOf, readLayerDef, shapeRng } from './loom-layers.js';
import { applyLayerWeights, layerWeights, type LayerWeights, type WeightsFormat } from './loom-weights.js';
import { layerDef } from './loom-write.js';
import { networkFromSpec } from './rebuild.js';

/**
 * LOOM's `modelhost/bundle` JSON (its serialization.go): `{type, version, models: [{id, cfg, weights: {fmt, data}}]}`
 * with weights as base64 of `{"type":"float32","dtype":"","layers":[LayerWeights…]}` (jsonModelB64, version 1) or
 * of `{"dtype","scale","layers"}` whose fields are base64 little-endian raw values (multiPrecisionB64, version 2).
 *
 * Differences from LOOM, on purpose: models are written sorted by id (LOOM iterated a Go map); multiPrecision keeps
 * every weight (LOOM dropped RNN/LSTM/conv1d/embedding ones) and int quantization rounds to nearest (LOOM truncated;
 * the scale is LOOM's fixed 127 / 32767 / 2147483647, so int8 keeps |w| ≤ 1 to within 1/254 and clips beyond);
 * cfg.loomts holds Loom's exact architecture (LOOM ignores unknown keys), and when present it is what we rebuild.
 */
export const BUNDLE_TYPE = 'modelhost/bundle';
export const MULTI_PRECISION_DTYPES = ['float32', 'float64', 'int8', 'int16', 'int32'] as const;
export type MultiPrecisionDtype = (typeof MULTI_PRECISION_DTYPES)[number];
const QUANT_SCALE: Readonly<Record<string, number>> = { int8: 127, int16: 32767, int32: 2147483647 };
const LOOMTS_VERSION = 1;

export interface BundleModel {
  readonly id: string;
  readonly network: Network;
  /** Free JSON kept with the model (preprocessing, run, …) in cfg.loomts.metadata, which LOOM ignores. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface EncodeBundleOptions {
  readonly format?: WeightsFormat;
  /** multiPrecisionB64 only (default float32). */
  readonly dtype?: MultiPrecisionDtype;
}

export interface LoadedBundleModel extends BundleModel {
  readonly format: WeightsFormat;
  readonly dtype: string;
  readonly metadata: Record<string, unknown>;
}

export interface LoadedBundle {
  readonly models: LoadedBundleModel[];
  /** Things the file lacked that were filled as LOOM would (missing weights), one line each. */
  readonly warnings: string[];
}

// ── writing ──────────────────────────────────────────────────────────────────────────────────────────────────

/** LOOM's LayerWeights key order; Loom's own fields follow, then branch_weights. */
const FIELD_ORDER = [
  'biases', 'kernel', 'conv_bias', 'q_weights', 'k_weights', 'v_weights', 'output_weight', 'q_bias', 'k_bias', 'v_bias', 'output_bias',
  'weight_ih', 'weight_hh', 'bias_h', 'weight_ii', 'weight_if', 'weight_ig', 'weight_io', 'weight_hi', 'weight_hf', 'weight_hg', 'weight_ho',
  'bias_i', 'bias_f', 'bias_g', 'bias_o', 'gamma', 'beta', 'gate_weights', 'up_weights', 'down_weights', 'gate_bias', 'up_bias', 'down_bias',
];
const fieldRank = (k: string): number => {
  const i = FIELD_ORDER.indexOf(k);
  return i >= 0 ? i : FIELD_ORDER.length;
};

function weightsJson(w: LayerWeights, encode: (name: string, v: Float32Array) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = [...w.fields.keys()].sort((a, b) => fieldRank(a) - fieldRank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) out[name] = encode(name, w.fields.get(name) as Float32Array);
  if (w.branches.length > 0) out.branch_weights = w.branches.map((b) => weightsJson(b, encode));
  return out;
}

function jsonNumbers(name: string, v: Float32Array): number[] {
  return Array.from(v, (x, i) => {
    if (!Number.isFinite(x)) throw modelFileError(`weight ${name}[${i}] = ${x} cannot be written as JSON`);
    return Number(float32ToString(x));
  });
}

/** Little-endian raw values in the dtype; ints are round(w·scale) clipped to ±scale. */
function encodeRaw(v: Float32Array, dtype: MultiPrecisionDtype): Uint8Array {
  const width = dtype === 'float64' ? 8 : dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'int16' ? 2 : 1;
  const out = new Uint8Array(v.length * width);
  const view = new DataView(out.buffer);
  const scale = QUANT_SCALE[dtype] ?? 1;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (dtype === 'float32') view.setFloat32(4 * i, x, true);
    else if (dtype === 'float64') view.setFloat64(8 * i, x, true);
    else {
      const q = Math.max(-scale, Math.min(scale, Math.round(x * scale)));
      if (dtype === 'int8') view.setInt8(i, q);
      else if (dtype === 'int16') view.setInt16(2 * i, q, true);
      else view.setInt32(4 * i, q, true);
    }
  }
  return out;
}

function decodeRaw(bytes: Uint8Array, dtype: string, scale: number, what: string): Float32Array {
  const width = dtype === 'float64' ? 8 : dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'int16' ? 2 : dtype === 'int8' ? 1 : 0;
  if (width === 0) throw modelFileError(`${what}: unknown multiPrecision dtype ${JSON.stringify(dtype)} (known: ${MULTI_PRECISION_DTYPES.join(', ')})`);
  if (bytes.length % width !== 0) throw modelFileError(`${what}: ${bytes.length} bytes is not a whole number of ${dtype} values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Float32Array(bytes.length / width);
  for (let i = 0; i < out.length; i++) {
    if (dtype === 'float32') out[i] = view.getFloat32(4 * i, true);
    else if (dtype === 'float64') out[i] = view.getFloat64(8 * i, true);
    else if (dtype === 'int8') out[i] = view.getInt8(i) / scale;
    else if (dtype === 'int16') out[i] = view.getInt16(2 * i, true) / scale;
    else out[i] = view.getInt32(4 * i, true) / scale;
  }
  return out;
}

function modelEntry(model: BundleModel, format: WeightsFormat, dtype: MultiPrecisionDtype): Record<string, unknown> {
  const { network } = model;
  const cfg = {
    id: model.id,
    batch_size: 1,
    grid_rows: network.rows,
    grid_cols: network.cols,
    layers_per_cell: network.layersPerCell,
    layers: network.layers.map(layerDef),
    loomts: { version: LOOMTS_VERSION, spec: network.spec, ...(model.metadata ? { metadata: model.metadata } : {}) },
  };
  const layers = network.layers.map((l) => layerWeights(l, format));
  const payload =
    format === 'jsonModelB64'
      ? { type: 'float32', dtype: '', layers: layers.map((w) => weightsJson(w, jsonNumbers)) }
      : { dtype, scale: QUANT_SCALE[dtype] ?? 1, layers: layers.map((w) => weightsJson(w, (_n, v) => encodeBase64(encodeRaw(v, dtype)))) };
  return { id: model.id, cfg, weights: { fmt: format, data: encodeBase64(new TextEncoder().encode(JSON.stringify(payload))) } };
}

/** Writes models as a LOOM bundle (2-space indented JSON, models sorted by id). */
export function encodeLoomBundle(models: readonly BundleModel[], options: EncodeBundleOptions = {}): string {
  const format = options.format ?? 'jsonModelB64';
  const dtype = options.dtype ?? 'float32';
  if (format !== 'jsonModelB64' && format !== 'multiPrecisionB64') throw modelFileError(`unknown bundle weight format "${format}"`);
  if (!(MULTI_PRECISION_DTYPES as readonly string[]).includes(dtype)) throw modelFileError(`unknown bundle dtype "${dtype}" (known: ${MULTI_PRECISION_DTYPES.join(', ')})`);
  const sorted = [...models].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  sorted.forEach((m, i) => {
    if (i > 0 && sorted[i - 1]!.id === m.id) throw modelFileError(`bundle: two models share the id "${m.id}"`);
  });
  const bundle = { type: BUNDLE_TYPE, version: format === 'jsonModelB64' ? 1 : 2, models: sorted.map((m) => modelEntry(m, format, dtype)) };
  return JSON.stringify(bundle, null, 2);
}

// ── reading ──────────────────────────────────────────────────────────────────────────────────────────────────

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw modelFileError(`${what}: not valid JSON (${(err as Error).message})`);
  }
}

function readWeights(obj: unknown, decode: (name: string, v: unknown, where: string) => Float32Array, where: string): LayerWeights {
  if (obj === null || obj === undefined) return { fields: new Map(), branches: [] };
  if (!isObject(obj)) throw modelFileError(`${where}: layer weights must be an object`);
  const fields = new Map<string, Float32Array>();
  let branches: LayerWeights[] = [];
  for (const [name, v] of Object.entries(obj)) {
    if (name === 'dtype' || v === null) continue;
    if (name === 'branch_weights') {
      if (!Array.isArray(v)) throw modelFileError(`${where}: branch_weights must be a list`);
      branches = v.map((b, i) => readWeights(b, decode, `${where} branch ${i}`));
    } else fields.set(name, decode(name, v, where));
  }
  return { fields, branches };
}

function decodePayload(weights: unknown, what: string): { format: WeightsFormat; dtype: string; layers: unknown[] | null; decode: (n: string, v: unknown, w: string) => Float32Array } {
  if (!isObject(weights)) throw modelFileError(`${what}: "weights" must be an object {fmt, data}`);
  const format = weights.fmt;
  if (format !== 'jsonModelB64' && format !== 'multiPrecisionB64') {
    throw modelFileError(`${what}: unknown weights fmt ${JSON.stringify(format)} (known: jsonModelB64, multiPrecisionB64)`);
  }
  if (typeof weights.data !== 'string') throw modelFileError(`${what}: weights.data must be a base64 string`);
  const payload = parseJsonText(new TextDecoder().decode(decodeBase64(weights.data, `${what} weights`)), `${what} weights`);
  if (!isObject(payload)) throw modelFileError(`${what}: the weights payload must be a JSON object`);
  const layers = payload.layers === null || payload.layers === undefined ? null : payload.layers;
  if (layers !== null && !Array.isArray(layers)) throw modelFileError(`${what}: the weights payload's "layers" must be a list`);
  if (format === 'jsonModelB64') {
    const decode = (name: string, v: unknown, where: string): Float32Array => {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw modelFileError(`${where}: weight field ${name} must be a list of numbers`);
      return Float32Array.from(v as number[]);
    };
    return { format, dtype: 'float32', layers, decode };
  }
  const dtype = String(payload.dtype ?? 'float32');
  const stated = typeof payload.scale === 'number' && payload.scale > 0 ? payload.scale : undefined;
  const scale = dtype in QUANT_SCALE ? (stated ?? (QUANT_SCALE[dtype] as number)) : 1;
  const decode = (name: string, v: unknown, where: string): Float32Array => {
    if (typeof v !== 'string') throw modelFileError(`${where}: weight field ${name} must be a base64 string`);
    return decodeRaw(decodeBase64(v, `${where} ${name}`), dtype, scale, `${where} ${name}`);
  };
  return { format, dtype, layers, decode };
}

/** The architecture of one model: Loom's exact spec when the bundle carries it, else read from LOOM's cfg. */
function modelNetwork(cfg: Record<string, unknown>, defs: unknown[], what: string, options: DecodeBundleOptions): Network {
  const loomts = cfg.loomts;
  if (isObject(loomts) && loomts.spec !== undefined) {
    const network = networkFromSpec(loomts.spec, `${what} (cfg.loomts)`);
    if (network.layers.length !== defs.length) throw modelFileError(`${what}: cfg.loomts has ${network.layers.length} layers but cfg.layers has ${defs.length}`);
    network.layers.forEach((layer, i) => {
      const def = defs[i] as LoomLayerDef | undefined;
      const kind = coreLayer(layer).spec.type;
      if (!isObject(def) || loomKindOf(String(def.type)) !== kind) {
        throw modelFileError(`${what}: layer ${i} is ${JSON.stringify(isObject(def) ? def.type : def)} in cfg.layers but ${kind} in cfg.loomts`);
      }
    });
    return network;
  }
  const dims = ['grid_rows', 'grid_cols', 'layers_per_cell'].map((k) => {
    const v = cfg[k] ?? 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw modelFileError(`${what}: cfg.${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }) as [number, number, number];
  if (dims[0] * dims[1] * dims[2] !== defs.length) {
    throw modelFileError(`${what}: a ${dims.join('×')} grid needs ${dims[0] * dims[1] * dims[2]} layers, cfg.layers has ${defs.length}`);
  }
  const rng = shapeRng();
  let shape: readonly number[] | null = options.inputShape ?? null;
  let first: readonly number[] | null = shape;
  const layers = defs.map((def, i) => {
    const read = readLayerDef(def, shape, `${what} layer ${i}`, rng, options.inputWidth);
    first ??= read.inputShape;
    shape = read.outputShape;
    return read.spec;
  });
  const spec: NetworkSpec = { inputShape: first ?? [], rows: dims[0], cols: dims[1], layersPerCell: dims[2], layers };
  return networkFromSpec(spec, what);
}

export interface DecodeBundleOptions {
  /** The network input shape for bundles without cfg.loomts (default: from the first layer's sizes). */
  readonly inputShape?: readonly number[];
  /**
   * The input samples' width (or a function that reads it, called only when needed): the flat input size of a
   * bundle whose first layer does not tell it, as a softmax's. Ignored when inputShape is given.
   */
  readonly inputWidth?: InputWidth;
}

/** Reads every model of a LOOM bundle, weights included. */
export function decodeLoomBundle(source: string | Uint8Array, options: DecodeBundleOptions = {}): LoadedBundle {
  const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
  const bundle = parseJsonText(text, 'LOOM bundle');
  if (!isObject(bundle) || bundle.type !== BUNDLE_TYPE) {
    throw modelFileError(`LOOM bundle: "type" must be "${BUNDLE_TYPE}", got ${JSON.stringify(isObject(bundle) ? bundle.type : bundle)}`);
  }
  if (!Array.isArray(bundle.models)) throw modelFileError('LOOM bundle: "models" must be a list');
  const warnings: string[] = [];
  const models = bundle.models.map((entry, m): LoadedBundleModel => {
    if (!isObject(entry) || !isObject(entry.cfg)) throw modelFileError(`LOOM bundle model ${m}: needs an object "cfg"`);
    const id = String(entry.id ?? entry.cfg.id ?? m);
    const what = `LOOM bundle model "${id}"`;
    const defs = entry.cfg.layers;
    if (!Array.isArray(defs) || defs.length === 0) throw modelFileError(`${what}: cfg.layers must be a non-empty list`);
    const network = modelNetwork(entry.cfg, defs, what, options);
    const payload = decodePayload(entry.weights, what);
    const layers = payload.layers ?? [];
    if (layers.length !== 0 && layers.length !== network.layers.length) {
      throw modelFileError(`${what}: the weights hold ${layers.length} layers but cfg.layers has ${network.layers.length}`);
    }
    network.layers.forEach((layer, i) => {
      const where = `${what} layer ${i} (${coreLayer(layer).spec.type})`;
      applyLayerWeights(layer, readWeights(layers[i], payload.decode, where), where, warnings);
    });
    network.modelId = id;
    const loomts = entry.cfg.loomts;
    const metadata = isObject(loomts) && loomts.metadata !== undefined ? loomts.metadata : {};
    if (!isObject(metadata)) throw modelFileError(`${what}: cfg.loomts.metadata must be a JSON object`);
    return { id, network, format: payload.format, dtype: payload.dtype, metadata };
  });
  // Two models under one id would make every choice by id ambiguous (and silently pick the first).
  const ids = new Set<string>();
  for (const m of models) {
    if (ids.has(m.id)) throw modelFileError(`LOOM bundle: two models have the id "${m.id}"; ids must be unique`);
    ids.add(m.id);
  }
  return { models, warnings };
}
