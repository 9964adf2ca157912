import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { dataError } from '../engine/errors.js';
import type { RawData } from './types.js';

export interface CsvOptions {
  /** Name of the label column; the last column when absent. */
  readonly labelColumn?: string;
}

/** Splits one CSV line into trimmed fields; double quotes may wrap a field ("" is a literal quote). */
function parseLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field.trim());
      field = '';
    } else field += ch;
  }
  fields.push(field.trim());
  return fields;
}

/** Sorts labels as numbers when both are numbers, else by UTF-16 code units: deterministic on every machine. */
function compareLabels(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Reads a CSV file with a header row: numeric feature columns and one label column (by name, else the last).
 * Class names are the distinct label strings, sorted. Errors name the file, the line (1 = header) and the column.
 */
export function readCsv(path: string, options: CsvOptions = {}): RawData {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw dataError(code === 'ENOENT' ? `csv: file not found: ${path}` : `csv: cannot read ${path}: ${(err as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  const header = parseLine(lines[0] ?? '');
  if (header.length < 2 || header.every((h) => h === '')) {
    throw dataError(`${path}: line 1 must be a header naming at least one feature column and a label column`);
  }
  const labelIndex = options.labelColumn === undefined ? header.length - 1 : header.indexOf(options.labelColumn);
  if (labelIndex < 0) {
    throw dataError(`${path}: no label column "${options.labelColumn}"; the columns are ${header.map((h) => `"${h}"`).join(', ')}`);
  }
  const labelName = header[labelIndex] as string;
  const featureColumns = header.map((_, i) => i).filter((i) => i !== labelIndex);

  const features: number[] = [];
  const labels: string[] = [];
  for (let l = 1; l < lines.length; l++) {
    const line = lines[l] as string;
    if (line.trim() === '') continue;
    const lineNo = l + 1;
    const fields = parseLine(line);
    if (fields.length !== header.length) {
      throw dataError(`${path}: line ${lineNo} has ${fields.length} fields, the header has ${header.length}`);
    }
    for (const c of featureColumns) {
      const s = fields[c] as string;
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) {
        throw dataError(`${path}: line ${lineNo}, column "${header[c]}": "${s}" is not a number`);
      }
      features.push(v);
    }
    const label = fields[labelIndex] as string;
    if (label === '') throw dataError(`${path}: line ${lineNo}: empty label in column "${labelName}"`);
    labels.push(label);
  }
  if (labels.length === 0) throw dataError(`${path}: no data rows after the header`);

  const classNames = [...new Set(labels)].sort(compareLabels);
  if (classNames.length < 2) {
    throw dataError(`${path}: label column "${labelName}" has a single class "${classNames[0]}"; classification needs at least 2`);
  }
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  return {
    name: basename(path),
    x: Float32Array.from(features),
    y: Int32Array.from(labels, (label) => classIndex.get(label) as number),
    count: labels.length,
    inputShape: [featureColumns.length],
    classNames,
    normalize: 'zscore',
  };
}
