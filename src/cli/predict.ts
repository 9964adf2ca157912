import { readFileSync } from 'node:fs';
import { dataError, LoomError } from '../engine/errors.js';
import { float32ToString } from '../engine/io/float16.js';
import { readModelFile } from '../engine/io/files.js';
import { pickModel, type LoadedModel } from '../engine/io/model.js';
import { sizeOf } from '../engine/tensor.js';
import { intOption, parseCommandArgs } from './args.js';
import type { Command } from './main.js';

const help = `usage: loom predict --model FILE --input FILE [--batch N] [--id MODEL_ID]

Runs a saved model on inputs and prints its outputs as JSON: one array per input, in input order.

  --model FILE   a Loom model file (.safetensors/.loom) or a LOOM modelhost/bundle (.json); told apart by content
  --input FILE   a JSON array of samples (each an array of numbers, nested arrays allowed; a flat array of numbers
                 is one sample), or a CSV of numbers, one sample per line, with an optional header line
  --batch N      samples per forward pass (default 64)
  --id MODEL_ID  which model of a bundle holding several

Each sample is reshaped to the model's input shape, so it must hold exactly that many values.`;

/** Samples from a JSON or CSV file, each a flat list of numbers; errors name the file, the line or sample, the column. */
export function readInputRows(path: string): number[][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw dataError(code === 'ENOENT' ? `input file not found: ${path}` : `cannot read input file ${path}: ${(err as Error).message}`);
  }
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') throw dataError(`${path}: the input file is empty`);
  if (trimmed.startsWith('{')) throw dataError(`${path}: expected a JSON array of samples (or a CSV), got a JSON object`);
  return trimmed.startsWith('[') ? jsonRows(path, trimmed) : csvRows(path, trimmed);
}

function jsonRows(path: string, text: string): number[][] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw dataError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data) || data.length === 0) throw dataError(`${path}: expected a non-empty JSON array of samples`);
  const samples = data.every((v) => typeof v === 'number') ? [data] : data;
  return samples.map((sample, s) => {
    const flat = Array.isArray(sample) ? (sample.flat(Infinity) as unknown[]) : [sample];
    flat.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw dataError(`${path}: sample ${s} value ${i} is ${JSON.stringify(v)}, not a finite number`);
    });
    return flat as number[];
  });
}

function csvRows(path: string, text: string): number[][] {
  const lines = text.split(/\r?\n/);
  const rows: number[][] = [];
  lines.forEach((line, n) => {
    if (line.trim() === '') return;
    const fields = line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
    const numbers = fields.map((f) => (f === '' ? NaN : Number(f)));
    if (n === 0 && numbers.some((v) => Number.isNaN(v))) return; // a header line
    numbers.forEach((v, c) => {
      if (!Number.isFinite(v)) throw dataError(`${path}: line ${n + 1} column ${c + 1} is "${fields[c]}", not a number`);
    });
    rows.push(numbers);
  });
  if (rows.length === 0) throw dataError(`${path}: no data lines`);
  return rows;
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Runs the model over the rows in batches; returns one output row per input row. */
export function predictRows(model: LoadedModel, rows: readonly number[][], batch: number): number[][] {
  const { network } = model;
  const inSize = sizeOf(network.inputShape);
  rows.forEach((row, i) => {
    if (row.length !== inSize) {
      throw dataError(`input sample ${i} has ${row.length} values, but model "${model.modelId}" expects ${inSize} (input shape ${fmtShape(network.inputShape)})`);
    }
  });
  const outputs: number[][] = [];
  for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch);
    const y = network.forward({ data: Float32Array.from(chunk.flat()), shape: [chunk.length, ...network.inputShape] });
    const per = y.data.length / chunk.length;
    for (let r = 0; r < chunk.length; r++) outputs.push(Array.from(y.data.subarray(r * per, (r + 1) * per)));
  }
  return outputs;
}

/** JSON with one line per sample and float32 values at their shortest. */
export const formatOutputs = (outputs: readonly number[][]): string =>
  `[\n${outputs.map((row) => `  [${row.map(float32ToString).join(', ')}]`).join(',\n')}\n]`;

export const command: Command = {
  name: 'predict',
  help,
  async run(argv) {
    const { values } = parseCommandArgs(
      'predict',
      argv,
      { model: { type: 'string' }, input: { type: 'string' }, batch: { type: 'string' }, id: { type: 'string' } },
      false,
    );
    if (!values.model) throw new LoomError('LOOM_ERR_USAGE', 'loom predict needs --model FILE (see loom predict --help)');
    if (!values.input) throw new LoomError('LOOM_ERR_USAGE', 'loom predict needs --input FILE (see loom predict --help)');
    const batch = intOption('batch', values.batch, 1) ?? 64;
    const decoded = readModelFile(values.model);
    for (const w of decoded.warnings) console.error(`loom predict: warning: ${w}`);
    const model = pickModel(decoded, values.id);
    const rows = readInputRows(values.input);
    console.log(formatOutputs(predictRows(model, rows, batch)));
    return 0;
  },
};
