import { readFileSync } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
import { detectDelimiter } from '../data/csv.js';
import { dataError, LoomError } from '../engine/errors.js';
import { float32ToString } from '../engine/io/float16.js';
import { readModelFile } from '../engine/io/files.js';
import { pickModel, type LoadedModel } from '../engine/io/model.js';
import { applyPreprocessing, inputSize, PREPROCESSING_VERSION, rawNames, rawSize, type Preprocessing, type RawValue } from '../engine/preprocess.js';
import { argmax, softmaxRow } from '../engine/math.js';
import { endsInSoftmax } from '../engine/train/losses.js';
import { intOption, parseCommandArgs } from './args.js';
import { isCheckpointPath, predictTokenIds } from './checkpoints.js';
import type { Command } from './shared.js';

const help = `usage: loom predict --model FILE --input FILE [--batch N] [--labels] [--id MODEL_ID]

Runs a saved model on raw inputs and prints its outputs as JSON: one entry per input, in input order.
The preprocessing stored in the model (feature order, the normalization fitted on its training split) is applied
first, so give values as they are in your data, not normalized.

  --model FILE   a Loom model file (.loom/.safetensors) or a LOOM modelhost/bundle (.json); told apart by content
  --input FILE   a CSV or a JSON array of samples.
                 CSV: with a header line, columns are matched to the model's features by name (the label column
                 and other extra columns are ignored); without one, columns are taken in the model's order (a row
                 with one extra value has the training label column dropped). Delimiter , ; tab or | (detected).
                 JSON: each sample an array of numbers (nested arrays allowed); a flat array of numbers is one sample.
                 A model trained on a table with text or missing values reads its raw columns: text as it is
                 (one-hot inside), empty, NA, NaN, null or ? for a missing value (the training mean fills it).
  --labels       print {"label", "probabilities"} per input: the most likely class's name and every class's probability
  --batch N      samples per forward pass (default 64)
  --id MODEL_ID  which model of a bundle holding several

Each sample must hold exactly the model's number of input values; every value must be a finite number (or, for a
table with text or missing values, one value per raw column).`;

const FLOAT32_MAX = 3.4028234663852886e38;
/** Deeper JSON than this is not a sample of any model Loom builds; refusing it keeps flattening bounded. */
const MAX_JSON_DEPTH = 32;

/** The number of values in the input file's first sample, read as they come (no model order or label column). */
function inputWidth(path: string): number {
  const raw: Preprocessing = { version: PREPROCESSING_VERSION, inputShape: [], layout: { kind: 'features' }, features: [], normalization: { kind: 'none' }, classes: [] };
  return readInputRows(path, raw).rows[0]?.length ?? 0;
}

/** Model files written before preprocessing was stored: raw values go in as they are, classes are numbered. */
export function modelPreprocessing(model: LoadedModel): Preprocessing {
  if (model.preprocessing) return model.preprocessing;
  const out = model.network.outputShape;
  const classes = out.length === 1 ? Array.from({ length: out[0] as number }, (_, i) => String(i)) : ['0'];
  return { version: PREPROCESSING_VERSION, inputShape: [...model.network.inputShape], layout: { kind: 'features' }, features: [], normalization: { kind: 'none' }, classes };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw dataError(code === 'ENOENT' ? `input file not found: ${path}` : `cannot read input file ${path}: ${(err as Error).message}`);
  }
}

export interface InputRows {
  /** One row of raw values per sample, in the model's order (its raw columns, else its features). */
  readonly rows: RawValue[][];
  /** Columns of a CSV header that the model does not read (besides its label column). */
  readonly ignored: string[];
}

/** Samples from a JSON or CSV file as raw values in the model's order; errors name the file, line or sample, column. */
export function readInputRows(path: string, p: Preprocessing): InputRows {
  const text = readText(path).replace(/^\uFEFF/, '');
  const trimmed = text.trim();
  if (trimmed === '') throw dataError(`${path}: the input file is empty`);
  if (trimmed.startsWith('{')) throw dataError(`${path}: expected a JSON array of samples (or a CSV), got a JSON object`);
  return trimmed.startsWith('[') ? { rows: p.columns ? jsonTableRows(path, trimmed) : jsonRows(path, trimmed), ignored: [] } : csvRows(path, text, p);
}

/** Flattens one sample without recursion, refusing anything but numbers and deeper nesting than MAX_JSON_DEPTH. */
function flattenSample(path: string, sample: unknown, s: number): number[] {
  const out: number[] = [];
  const stack: { items: readonly unknown[]; next: number }[] = [{ items: Array.isArray(sample) ? sample : [sample], next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { items: readonly unknown[]; next: number };
    if (top.next >= top.items.length) {
      stack.pop();
      continue;
    }
    const v = top.items[top.next++];
    if (Array.isArray(v)) {
      if (stack.length >= MAX_JSON_DEPTH) throw dataError(`${path}: sample ${s} is nested deeper than ${MAX_JSON_DEPTH} levels`);
      stack.push({ items: v, next: 0 });
    } else if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw dataError(`${path}: sample ${s} value ${out.length} is ${JSON.stringify(v) ?? String(v)}, not a finite number`);
    } else if (Math.abs(v) > FLOAT32_MAX) {
      throw dataError(`${path}: sample ${s} value ${out.length} is ${v}, outside the float32 range (±3.4e38)`);
    } else out.push(v);
  }
  return out;
}

/** The input file's JSON: a non-empty array (of samples, or the values of one sample). */
function jsonArray(path: string, text: string): unknown[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw dataError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data) || data.length === 0) throw dataError(`${path}: expected a non-empty JSON array of samples`);
  return data;
}

function jsonRows(path: string, text: string): number[][] {
  const data = jsonArray(path, text);
  const samples = data.every((v) => typeof v === 'number') ? [data] : data;
  return samples.map((sample, s) => flattenSample(path, sample, s));
}

/** A table with text or missing values: each sample a flat array of numbers, strings and nulls. */
function jsonTableRows(path: string, text: string): RawValue[][] {
  const data = jsonArray(path, text);
  const samples: unknown[] = data.every((v) => !Array.isArray(v)) ? [data] : data;
  return samples.map((sample, s) => {
    if (!Array.isArray(sample)) throw dataError(`${path}: sample ${s} is ${JSON.stringify(sample)}, not an array of values`);
    return sample.map((v, i): RawValue => {
      if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v;
      throw dataError(`${path}: sample ${s} value ${i} is ${JSON.stringify(v) ?? String(v)}, not a number, a string or null`);
    });
  });
}

interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

function parseCsv(path: string, text: string): CsvRecord[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // csv-parse's typings do not model `info: true`, which wraps each record as {record, info}.
    records = parse(text, { bom: true, delimiter: detectDelimiter(text), relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (err) {
    if (err instanceof CsvError) throw dataError(`${path}: not a readable CSV (${err.message})`);
    throw err;
  }
  return records
    .map((r) => ({ fields: r.record, line: r.info.lines }))
    .filter((r) => !(r.fields.length === 1 && r.fields[0] === ''));
}

const isNumber = (f: string): boolean => f !== '' && Number.isFinite(Number(f));

/**
 * Is the first record a header? For a model with named features: when it names one of them or the label column,
 * or holds text that a label column cannot explain. Otherwise: when any field is not a number.
 */
function isHeader(first: readonly string[], p: Preprocessing, size: number): boolean {
  const names = new Set([...rawNames(p), ...(p.labelColumn ? [p.labelColumn.name] : [])]);
  if (first.some((f) => names.has(f))) return true;
  // Text is a table's data: without a name in it, the first line is a header only when no column may hold text.
  if (p.columns) return false;
  const label = p.labelColumn && first.length === size + 1 ? p.labelColumn.index : -1;
  return first.some((f, i) => i !== label && !isNumber(f));
}

function csvRows(path: string, text: string, p: Preprocessing): InputRows {
  const records = parseCsv(path, text);
  if (records.length === 0) throw dataError(`${path}: no data lines`);
  const size = rawSize(p);
  const names = rawNames(p);
  const header = isHeader((records[0] as CsvRecord).fields, p, size) ? (records[0] as CsvRecord).fields : null;
  const data = header ? records.slice(1) : records;
  if (data.length === 0) throw dataError(`${path}: no data lines after the header`);

  // Which file column feeds each of the model's raw values (null: as the row comes, label column dropped if present).
  let columns: number[] | null = null;
  let ignored: string[] = [];
  if (header && names.length === size) {
    columns = names.map((name) => {
      const c = header.indexOf(name);
      if (c < 0) throw dataError(`${path}: no column "${name}"; the model reads ${names.map((f) => `"${f}"`).join(', ')} and the header has ${header.map((h) => `"${h}"`).join(', ')}`);
      return c;
    });
    const used = new Set(columns);
    ignored = header.filter((h, c) => !used.has(c) && h !== p.labelColumn?.name);
  }
  const rows = data.map(({ fields, line }): RawValue[] => {
    let picked: number[];
    if (columns) {
      if (fields.length !== (header as string[]).length) throw dataError(`${path}: line ${line} has ${fields.length} fields, the header has ${(header as string[]).length}`);
      picked = columns;
    } else if (p.labelColumn && fields.length === size + 1) {
      picked = fields.map((_, c) => c).filter((c) => c !== p.labelColumn?.index);
    } else picked = fields.map((_, c) => c);
    // A table with text or missing values takes its cells as they are: the model's columns encode them.
    if (p.columns) return picked.map((c) => fields[c] as string);
    return picked.map((c) => {
      const f = fields[c] as string;
      const where = columns ? `line ${line}, column "${(header as string[])[c]}":` : `line ${line} column ${c + 1} is`;
      if (!isNumber(f)) throw dataError(`${path}: ${where} "${f}"${columns ? ' is' : ','} not a number`);
      const v = Number(f);
      if (Math.abs(v) > FLOAT32_MAX) throw dataError(`${path}: ${where} ${f}${columns ? ' is' : ','} outside the float32 range (±3.4e38)`);
      return v;
    });
  });
  return { rows, ignored };
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Runs the model over raw rows: preprocessing (applyPreprocessing), then forward passes in batches. Returns one
 * output row per input row; an output that is not finite is an error, so what is printed is always JSON.
 */
export function predictRows(model: LoadedModel, rows: readonly (readonly RawValue[])[], batch: number): number[][] {
  const { network } = model;
  const p = modelPreprocessing(model);
  const inSize = inputSize(p);
  const width = rawSize(p);
  rows.forEach((row, i) => {
    if (row.length !== width) {
      const what = p.columns ? `raw columns (${rawNames(p).join(', ')})` : `(input shape ${fmtShape(network.inputShape)})`;
      throw dataError(`input sample ${i} has ${row.length} values, but model "${model.modelId}" expects ${width} ${what}`);
    }
  });
  const x = applyPreprocessing(p, rows);
  const outputs: number[][] = [];
  for (let start = 0; start < rows.length; start += batch) {
    const count = Math.min(batch, rows.length - start);
    const y = network.forward({ data: x.subarray(start * inSize, (start + count) * inSize), shape: [count, ...network.inputShape] });
    const per = y.data.length / count;
    for (let r = 0; r < count; r++) {
      const row = Array.from(y.data.subarray(r * per, (r + 1) * per));
      if (!row.every(Number.isFinite)) throw dataError(`model "${model.modelId}" gave a non-finite output for input sample ${start + r}: its weights or that input are out of range`);
      outputs.push(row);
    }
  }
  return outputs;
}

export interface LabeledOutput {
  readonly label: string;
  readonly probabilities: number[];
}

/** Each output row as its most likely class's label and the class probabilities (softmaxed when they are logits). */
export function labelOutputs(model: LoadedModel, outputs: readonly number[][]): LabeledOutput[] {
  const p = modelPreprocessing(model);
  const probs = endsInSoftmax(model.network);
  return outputs.map((row) => {
    if (row.length !== p.classes.length) throw new LoomError('LOOM_ERR_USAGE', `--labels needs one output per class; model "${model.modelId}" gives ${row.length} values for ${p.classes.length} classes`);
    const probabilities = probs ? row : softmaxRow(row);
    return { label: p.classes[argmax(probabilities, 0, probabilities.length)] as string, probabilities };
  });
}

const numbers = (row: readonly number[]): string => `[${row.map(float32ToString).join(', ')}]`;

/** JSON with one line per sample and float32 values at their shortest. */
export const formatOutputs = (outputs: readonly number[][]): string => `[\n${outputs.map((row) => `  ${numbers(row)}`).join(',\n')}\n]`;

export const formatLabeled = (outputs: readonly LabeledOutput[]): string =>
  `[\n${outputs.map((o) => `  {"label": ${JSON.stringify(o.label)}, "probabilities": ${numbers(o.probabilities)}}`).join(',\n')}\n]`;

export const command: Command = {
  name: 'predict',
  help,
  async run(argv) {
    const { values } = parseCommandArgs(
      'predict',
      argv,
      { model: { type: 'string' }, input: { type: 'string' }, batch: { type: 'string' }, id: { type: 'string' }, labels: { type: 'boolean' } },
      false,
    );
    if (!values.model) throw new LoomError('LOOM_ERR_USAGE', 'loom predict needs --model FILE (see loom predict --help)');
    if (!values.input) throw new LoomError('LOOM_ERR_USAGE', 'loom predict needs --input FILE (see loom predict --help)');
    // A Hugging Face transformer folder takes token-id sequences and prints logits for every position.
    if (isCheckpointPath(values.model)) {
      console.log(predictTokenIds(values.model, values.input));
      return 0;
    }
    const batch = intOption('batch', values.batch, 1) ?? 64;
    const input = values.input;
    // A LOOM bundle starting with a softmax does not tell its input size: the input's width does.
    const decoded = readModelFile(values.model, { inputWidth: () => inputWidth(input) });
    for (const w of decoded.warnings) console.error(`loom predict: warning: ${w}`);
    const model = pickModel(decoded, values.id);
    const { rows, ignored } = readInputRows(values.input, modelPreprocessing(model));
    if (ignored.length > 0) console.error(`loom predict: ignoring column${ignored.length === 1 ? '' : 's'} the model does not read: ${ignored.map((c) => `"${c}"`).join(', ')}`);
    const outputs = predictRows(model, rows, batch);
    console.log(values.labels ? formatLabeled(labelOutputs(model, outputs)) : formatOutputs(outputs));
    return 0;
  },
};
