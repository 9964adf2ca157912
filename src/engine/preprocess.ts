import { dataError, modelFileError } from './errors.js';

/**
 * The input transform a model was trained with, stored in its model file so that every way of running it (loom
 * predict, loom serve, the library's predict, the ONNX export) turns raw rows into the network's input the same
 * way. Pure data plus pure functions: building it from a data set is src/data/preprocessing.ts' job.
 */

export const PREPROCESSING_VERSION = 1;

/**
 * How one sample's values are laid out in the network's input (always row-major, `inputShape` per sample):
 * - features: a table row, one value per named feature (other shapes: plain values in row-major order);
 * - image: height × width pixels, each image row is one token (width values);
 * - sequence: steps × channels, each step is one token (channels values).
 */
export type InputLayout =
  | { readonly kind: 'features' }
  | { readonly kind: 'image'; readonly height: number; readonly width: number }
  | { readonly kind: 'sequence'; readonly steps: number; readonly channels: number };

/** x' = x (none) or x'[f] = (x[f] − mean[f]) / std[f] per input value, mean and std fitted on the training split. */
export type InputNormalization =
  | { readonly kind: 'none' }
  | { readonly kind: 'zscore'; readonly mean: readonly number[]; readonly std: readonly number[] };

export interface Preprocessing {
  readonly version: number;
  /** Per-sample input shape of the network. */
  readonly inputShape: readonly number[];
  readonly layout: InputLayout;
  /** Names of the input values in the order the network reads them (table columns); empty when unnamed. */
  readonly features: readonly string[];
  readonly normalization: InputNormalization;
  /** Class label of each output index. */
  readonly classes: readonly string[];
  /** The training table's label column: its name and its position among the raw columns (features + label). */
  readonly labelColumn?: { readonly name: string; readonly index: number };
}

/** Values per sample: prod(inputShape). */
export const inputSize = (p: Preprocessing): number => p.inputShape.reduce((a, b) => a * b, 1);

// ── parsing ─────────────────────────────────────────────────────────────────────────────────────────────────

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string')) throw modelFileError(`${what} must be a list of strings`);
  return [...v];
}

function numberList(v: unknown, length: number, what: string, positive: boolean): number[] {
  if (!Array.isArray(v) || v.length !== length) throw modelFileError(`${what} must be a list of ${length} numbers`);
  return v.map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || (positive && !(x > 0))) {
      throw modelFileError(`${what}[${i}] is ${JSON.stringify(x)}, not a ${positive ? 'positive ' : ''}finite number`);
    }
    return x;
  });
}

function parseLayout(v: unknown, shape: readonly number[], where: string): InputLayout {
  if (!isObject(v)) throw modelFileError(`${where}.layout must be an object with a "kind"`);
  const fits = (dims: readonly unknown[]): boolean => shape.length === dims.length && dims.every((d, i) => d === shape[i]);
  if (v.kind === 'features') return { kind: 'features' };
  if (v.kind === 'image') {
    if (!isPositiveInt(v.height) || !isPositiveInt(v.width) || !fits([v.height, v.width])) {
      throw modelFileError(`${where}: an image layout's height and width must be the input shape [${shape.join(', ')}]`);
    }
    return { kind: 'image', height: v.height, width: v.width };
  }
  if (v.kind === 'sequence') {
    if (!isPositiveInt(v.steps) || !isPositiveInt(v.channels) || !fits([v.steps, v.channels])) {
      throw modelFileError(`${where}: a sequence layout's steps and channels must be the input shape [${shape.join(', ')}]`);
    }
    return { kind: 'sequence', steps: v.steps, channels: v.channels };
  }
  throw modelFileError(`${where}.layout.kind must be features, image or sequence, got ${JSON.stringify(v.kind)}`);
}

/** Checks untrusted JSON (a model file's metadata) and returns it as a Preprocessing; errors name the field. */
export function parsePreprocessing(value: unknown, where = 'preprocessing'): Preprocessing {
  if (!isObject(value)) throw modelFileError(`${where} must be a JSON object`);
  const version = value.version;
  if (!isPositiveInt(version)) throw modelFileError(`${where}.version must be a positive integer`);
  if (version > PREPROCESSING_VERSION) throw modelFileError(`${where}: version ${version} is newer than this Loom reads (${PREPROCESSING_VERSION})`);
  const shape = value.inputShape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every(isPositiveInt)) throw modelFileError(`${where}.inputShape must be a list of positive integers`);
  const inputShape = [...shape];
  const size = inputShape.reduce((a, b) => a * b, 1);
  const layout = parseLayout(value.layout, inputShape, where);
  const features = stringList(value.features ?? [], `${where}.features`);
  if (features.length !== 0 && features.length !== size) throw modelFileError(`${where}.features names ${features.length} values, the input has ${size}`);
  const norm = value.normalization;
  if (!isObject(norm)) throw modelFileError(`${where}.normalization must be an object with a "kind"`);
  let normalization: InputNormalization;
  if (norm.kind === 'none') normalization = { kind: 'none' };
  else if (norm.kind === 'zscore') {
    normalization = {
      kind: 'zscore',
      mean: numberList(norm.mean, size, `${where}.normalization.mean`, false),
      std: numberList(norm.std, size, `${where}.normalization.std`, true),
    };
  } else throw modelFileError(`${where}.normalization.kind must be none or zscore, got ${JSON.stringify(norm.kind)}`);
  const classes = stringList(value.classes, `${where}.classes`);
  if (classes.length < 1) throw modelFileError(`${where}.classes must name at least one class`);
  const base: Preprocessing = { version, inputShape, layout, features, normalization, classes };
  if (value.labelColumn === undefined) return base;
  const label = value.labelColumn;
  if (!isObject(label) || typeof label.name !== 'string' || !Number.isInteger(label.index) || (label.index as number) < 0 || (label.index as number) > features.length) {
    throw modelFileError(`${where}.labelColumn must be {name: string, index: 0…${features.length}}`);
  }
  return { ...base, labelColumn: { name: label.name, index: label.index as number } };
}

// ── applying ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Raw rows (each one sample's values in the model's order, as a user has them) → the network's input, row-major.
 * A row of the wrong length, a non-finite value, or a value that leaves float32's range once normalized is a
 * data error naming the row and the feature: the network must never see NaN or Infinity.
 */
export function applyPreprocessing(p: Preprocessing, rows: readonly (readonly number[])[]): Float32Array {
  const size = inputSize(p);
  const out = new Float32Array(rows.length * size);
  const name = (f: number): string => (p.features[f] !== undefined ? `"${p.features[f]}"` : `value ${f}`);
  rows.forEach((row, r) => {
    if (row.length !== size) throw dataError(`row ${r} has ${row.length} values, the model takes ${size} (input shape [${p.inputShape.join(', ')}])`);
    for (let f = 0; f < size; f++) {
      const raw = row[f] as number;
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw dataError(`row ${r}, ${name(f)}: ${String(raw)} is not a finite number`);
      const v = p.normalization.kind === 'zscore' ? (raw - (p.normalization.mean[f] as number)) / (p.normalization.std[f] as number) : raw;
      const stored = Math.fround(v);
      if (!Number.isFinite(stored)) throw dataError(`row ${r}, ${name(f)}: ${raw} is beyond float32's range once normalized`);
      out[r * size + f] = stored;
    }
  });
  return out;
}
