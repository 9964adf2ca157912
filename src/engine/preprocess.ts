import { dataError, modelFileError } from './errors.js';

/**
 * The input transform a model was trained with, stored in its model file so that every way of running it (loom
 * predict, loom serve, the library's predict, the ONNX export) turns raw rows into the network's input the same
 * way. Pure data plus pure functions: building it from a data set is src/data/preprocessing.ts' job.
 */

/** The newest version this code reads; version 2 added `columns` (tables with text or missing values). */
export const PREPROCESSING_VERSION = 2;

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

/**
 * How one raw table column becomes network inputs: a number column is one input, a missing value (empty, NA, NaN,
 * null, ?) replaced by `fill` (the training split's mean); a category column is one input per known value (one-hot,
 * in `values` order), a missing or unknown value all zeros.
 */
export type RawColumn =
  | { readonly name: string; readonly kind: 'number'; readonly fill: number }
  | { readonly name: string; readonly kind: 'category'; readonly values: readonly string[] };

/** One raw value of a table row as a user has it: a number, a string (a category, or a number as text), or null (missing). */
export type RawValue = number | string | null;

/** Strings that mean "no value" in a table cell (after trimming). */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?']);

/** The input names a raw column becomes: its own name, or name=value per category. */
export const columnFeatures = (c: RawColumn): string[] => (c.kind === 'number' ? [c.name] : c.values.map((v) => `${c.name}=${v}`));

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
  /**
   * Tables with text or missing values (version 2): the raw columns a row holds, in order, and how each becomes
   * inputs; `features` is then their expansion (columnFeatures). Absent: a row holds the inputs themselves.
   */
  readonly columns?: readonly RawColumn[];
}

/** Values per sample: prod(inputShape). */
export const inputSize = (p: Preprocessing): number => p.inputShape.reduce((a, b) => a * b, 1);

/** Raw values per row a user gives: the raw columns of a table with text or missing values, else inputSize. */
export const rawSize = (p: Preprocessing): number => p.columns?.length ?? inputSize(p);

/** The names of a row's raw values: the raw columns, else the features (empty when unnamed). */
export const rawNames = (p: Preprocessing): readonly string[] => p.columns?.map((c) => c.name) ?? p.features;

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
  const columns = value.columns === undefined ? undefined : parseColumns(value.columns, features, version, where);
  const base: Preprocessing = { version, inputShape, layout, features, normalization, classes, ...(columns ? { columns } : {}) };
  if (value.labelColumn === undefined) return base;
  const label = value.labelColumn;
  const raw = columns?.length ?? features.length;
  if (!isObject(label) || typeof label.name !== 'string' || !Number.isInteger(label.index) || (label.index as number) < 0 || (label.index as number) > raw) {
    throw modelFileError(`${where}.labelColumn must be {name: string, index: 0…${raw}}`);
  }
  return { ...base, labelColumn: { name: label.name, index: label.index as number } };
}

function parseColumns(v: unknown, features: readonly string[], version: number, where: string): RawColumn[] {
  if (version < 2) throw modelFileError(`${where}.columns needs version 2 or later, the file says ${version}`);
  if (!Array.isArray(v) || v.length === 0) throw modelFileError(`${where}.columns must be a non-empty list of columns`);
  const columns = v.map((c, i): RawColumn => {
    const at = `${where}.columns[${i}]`;
    if (!isObject(c) || typeof c.name !== 'string') throw modelFileError(`${at} must be {name, kind: "number", fill} or {name, kind: "category", values}`);
    if (c.kind === 'number') {
      if (typeof c.fill !== 'number' || !Number.isFinite(c.fill)) throw modelFileError(`${at}.fill must be a finite number`);
      return { name: c.name, kind: 'number', fill: c.fill };
    }
    if (c.kind === 'category') {
      const values = stringList(c.values, `${at}.values`);
      if (values.length === 0 || new Set(values).size !== values.length) throw modelFileError(`${at}.values must be a non-empty list of distinct strings`);
      return { name: c.name, kind: 'category', values };
    }
    throw modelFileError(`${at}.kind must be number or category, got ${JSON.stringify(c.kind)}`);
  });
  const expanded = columns.flatMap(columnFeatures);
  if (expanded.length !== features.length || expanded.some((f, i) => f !== features[i])) {
    throw modelFileError(`${where}.columns expand to ${expanded.length} inputs (${expanded.join(', ')}), not the ${features.length} features the file names`);
  }
  return columns;
}

// ── applying ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Raw rows (each one sample's values in the model's order, as a user has them) → the network's input, row-major.
 * A table with text or missing values (`columns`) takes one value per raw column and encodes it (RawColumn); other
 * models take the inputs themselves, finite numbers. A row of the wrong length, a value that is neither, or a value
 * that leaves float32's range once normalized is a data error naming the row and the column: the network must
 * never see NaN or Infinity.
 */
export function applyPreprocessing(p: Preprocessing, rows: readonly (readonly RawValue[])[]): Float32Array {
  const size = inputSize(p);
  const width = rawSize(p);
  const names = rawNames(p);
  const out = new Float32Array(rows.length * size);
  // A raw value is named by its column, an input (after encoding) by its feature.
  const named = (list: readonly string[], i: number): string => (list[i] !== undefined ? `"${list[i]}"` : `value ${i}`);
  const name = (c: number): string => named(names, c);
  const inputs = new Float64Array(size);
  rows.forEach((row, r) => {
    if (row.length !== width) {
      const what = p.columns ? `raw columns (${names.join(', ')})` : `(input shape [${p.inputShape.join(', ')}])`;
      throw dataError(`row ${r} has ${row.length} values, the model takes ${width} ${what}`);
    }
    if (p.columns) encodeColumns(p.columns, row, inputs, (c, why) => dataError(`row ${r}, ${name(c)}: ${why}`));
    else
      for (let f = 0; f < size; f++) {
        const raw = row[f];
        if (typeof raw !== 'number' || !Number.isFinite(raw)) throw dataError(`row ${r}, ${name(f)}: ${raw === null ? 'null' : String(raw)} is not a finite number`);
        inputs[f] = raw;
      }
    for (let f = 0; f < size; f++) {
      const raw = inputs[f] as number;
      const v = p.normalization.kind === 'zscore' ? (raw - (p.normalization.mean[f] as number)) / (p.normalization.std[f] as number) : raw;
      const stored = Math.fround(v);
      if (!Number.isFinite(stored)) throw dataError(`row ${r}, ${named(p.features, f)}: ${raw} is beyond float32's range once normalized`);
      out[r * size + f] = stored;
    }
  });
  return out;
}

/** A raw cell as a number, null when it is missing, NaN when it is text that is not a number. */
export function cellNumber(v: RawValue): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  const s = v.trim();
  if (MISSING_TOKENS.has(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** One raw row → its inputs in `into` (RawColumn's rules); `fail(column, why)` makes the error for a bad value. */
export function encodeColumns(columns: readonly RawColumn[], row: readonly RawValue[], into: Float64Array, fail: (column: number, why: string) => Error): void {
  let f = 0;
  columns.forEach((c, k) => {
    const v = row[k] as RawValue;
    if (c.kind === 'number') {
      const n = cellNumber(v);
      if (n !== null && !Number.isFinite(n)) throw fail(k, `${JSON.stringify(v)} is not a number (leave the cell empty for a missing value)`);
      into[f++] = n ?? c.fill;
      return;
    }
    const s = v === null ? '' : String(v).trim();
    const hit = MISSING_TOKENS.has(s) ? -1 : c.values.indexOf(s);
    for (let j = 0; j < c.values.length; j++) into[f++] = j === hit ? 1 : 0;
  });
}
