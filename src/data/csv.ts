import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CsvError, parse } from 'csv-parse/sync';
import { dataError } from '../engine/errors.js';
import { cellNumber, columnFeatures, encodeColumns, type RawColumn } from '../engine/preprocess.js';
import type { RawData } from './types.js';

/** Field delimiters a CSV file may use; the first line decides which one when none is given. */
export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

export interface CsvOptions {
  /** Name of the label column; the last column when absent. */
  readonly labelColumn?: string;
  /** The field delimiter; detected from the header line when absent. */
  readonly delimiter?: CsvDelimiter;
  /** Columns left out (names, ids, anything a model should not read). */
  readonly ignoreColumns?: readonly string[];
}

/**
 * The delimiter the header line uses most often outside double quotes (',' on a tie or when none appears).
 * Only the header is looked at: it has no numbers with decimal commas to confuse the count.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  const counts = new Map<string, number>(CSV_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) {
      if ([...counts.values()].some((n) => n > 0)) break;
    } else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) as number) + 1);
  }
  let best: CsvDelimiter = ',';
  for (const d of CSV_DELIMITERS) if ((counts.get(d) as number) > (counts.get(best) as number)) best = d;
  return best;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Sorts labels as numbers when both are numbers, else by UTF-16 code units: deterministic on every machine. */
function compareLabels(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Row {
  readonly fields: string[];
  /** 1-based line the record starts on (a quoted field may span lines). */
  readonly line: number;
}

/** The line a record starts on: csv-parse reports where it ends, and its raw text tells how many lines it spans. */
function startLine(endLine: number, raw: string): number {
  const inner = raw.replace(/^\n+/, '').replace(/\n$/, '');
  return endLine - (inner.match(/\n/g)?.length ?? 0);
}

/** csv-parse's errors, reworded to name the file and the line (and the field when known). */
function csvSyntaxError(path: string, err: CsvError): Error {
  const line = typeof err.lines === 'number' ? err.lines : undefined;
  const at = line === undefined ? '' : ` line ${line}${typeof err.column === 'number' ? `, field ${err.column + 1}` : ''}:`;
  const why: Partial<Record<string, string>> = {
    CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed (an opening " without its closing ")',
    INVALID_OPENING_QUOTE: 'a " inside an unquoted field (quote the whole field and double the inner quote: "a ""b"" c")',
    CSV_INVALID_CLOSING_QUOTE: 'text right after a closing quote (double a quote inside a quoted field: "")',
    CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'text right after a closing quote (double a quote inside a quoted field: "")',
  };
  return dataError(`${path}:${at} ${why[err.code] ?? err.message}`);
}

function parseRows(path: string, text: string, delimiter: CsvDelimiter): Row[] {
  let records: unknown;
  try {
    // One line ending for the whole file: csv-parse fixes the record delimiter from the first line it sees, and
    // files edited on several systems mix \r\n and \n.
    const unified = text.replace(/\r\n?/g, '\n');
    records = parse(unified, { bom: true, delimiter, record_delimiter: '\n', relax_column_count: true, skip_empty_lines: true, info: true, raw: true });
  } catch (err) {
    if (err instanceof CsvError) throw csvSyntaxError(path, err);
    throw err;
  }
  if (!Array.isArray(records)) return [];
  const rows: Row[] = [];
  for (const r of records as { record: string[]; raw: string; info: { lines: number } }[]) {
    const fields = r.record.map((f) => f.trim());
    // A line of spaces only is as empty as an empty line.
    if (fields.length === 1 && fields[0] === '') continue;
    rows.push({ fields, line: startLine(r.info.lines, r.raw) });
  }
  return rows;
}

/**
 * Reads a CSV file with a header row: numeric feature columns and one label column (by name, else the last).
 * Parsing is csv-parse's (RFC 4180 quoting, quoted newlines, a UTF-8 byte-order mark); the delimiter is ',',
 * ';', tab or '|', detected from the header unless given. Class names are the distinct label strings, sorted.
 * Errors name the file, the line (1 = header) and the column.
 */
export function readCsv(path: string, options: CsvOptions = {}): RawData {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw dataError(code === 'ENOENT' ? `csv: file not found: ${path}` : `csv: cannot read ${path}: ${(err as Error).message}`);
  }
  const rows = parseRows(path, text, options.delimiter ?? detectDelimiter(text));
  const header = rows[0]?.fields ?? [];
  if (header.length < 2 || header.every((h) => h === '')) {
    throw dataError(`${path}: line 1 must be a header naming at least one feature column and a label column`);
  }
  const labelIndex = options.labelColumn === undefined ? header.length - 1 : header.indexOf(options.labelColumn);
  if (labelIndex < 0) {
    throw dataError(`${path}: no label column "${options.labelColumn}"; the columns are ${header.map((h) => `"${h}"`).join(', ')}`);
  }
  const labelName = header[labelIndex] as string;
  const ignored = new Set(options.ignoreColumns ?? []);
  for (const name of ignored) {
    if (!header.includes(name)) throw dataError(`${path}: no column "${name}" to ignore; the columns are ${header.map((h) => `"${h}"`).join(', ')}`);
    if (name === labelName) throw dataError(`${path}: "${name}" is the label column; it cannot be ignored`);
  }
  const featureColumns = header.map((_, i) => i).filter((i) => i !== labelIndex && !ignored.has(header[i] as string));
  if (featureColumns.length === 0) throw dataError(`${path}: every column but the label is ignored; nothing is left to learn from`);

  const records: Row[] = [];
  const labels: string[] = [];
  for (const { fields, line } of rows.slice(1)) {
    if (fields.length !== header.length) {
      throw dataError(`${path}: line ${line} has ${fields.length} fields, the header has ${header.length}`);
    }
    const label = fields[labelIndex] as string;
    if (label === '') throw dataError(`${path}: line ${line}: empty label in column "${labelName}"`);
    records.push({ fields, line });
    labels.push(label);
  }
  if (labels.length === 0) throw dataError(`${path}: no data rows after the header`);
  // The cells are checked before the labels: a bad value is named even in a file whose labels are wrong too.
  const table = tableColumns(path, header, featureColumns, records);

  const classNames = [...new Set(labels)].sort(compareLabels);
  if (classNames.length < 2) {
    throw dataError(`${path}: label column "${labelName}" has a single class "${classNames[0]}"; classification needs at least 2`);
  }
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  const plain = table.every((c) => c.kind === 'number' && !c.missing);
  // A missing number is NaN here (its fill): loadDataset replaces it with the train split's mean.
  const raw: RawColumn[] = table.map((c) => (c.kind === 'number' ? { name: c.name, kind: 'number', fill: Number.NaN } : c));
  const features = raw.flatMap(columnFeatures);
  const x = new Float32Array(records.length * features.length);
  const inputs = new Float64Array(features.length);
  records.forEach(({ fields, line }, r) => {
    // tableColumns has checked that every cell encodes.
    encodeColumns(raw, featureColumns.map((c) => fields[c] as string), inputs, (k, why) => dataError(`${path}: line ${line}, column "${raw[k]?.name}": ${why}`));
    x.set(inputs, r * features.length);
  });
  return {
    name: basename(path),
    x,
    y: Int32Array.from(labels, (label) => classIndex.get(label) as number),
    count: labels.length,
    inputShape: [features.length],
    classNames,
    normalize: 'zscore',
    columns: {
      features,
      // The label's position among the columns a model reads (ignored ones left out), as a row of them has it.
      label: { name: labelName, index: featureColumns.filter((c) => c < labelIndex).length },
      ...(plain ? {} : { table: table.map((c) => (c.kind === 'number' ? { name: c.name, kind: 'number' as const } : c)) }),
    },
  };
}

type ReadColumn = { readonly name: string; readonly kind: 'number'; readonly missing: boolean } | { readonly name: string; readonly kind: 'category'; readonly values: string[] };

/** A text column with more distinct values than this share of its rows is refused as an identifier. */
const MAX_CATEGORY_SHARE = 0.5;

const DECIMAL_COMMA = /^[-+]?\d*,\d+$/;

/**
 * What each feature column holds: numbers (some cells possibly missing: empty, NA, NaN, null, ?) or categories
 * (its distinct values, sorted as labels are) when most of its values are text. A column of numbers with a few
 * text cells is refused at the first one (a typo would otherwise turn every number into a category), as is a
 * decimal comma and a column with no value at all.
 */
function tableColumns(path: string, header: readonly string[], featureColumns: readonly number[], records: readonly Row[]): ReadColumn[] {
  return featureColumns.map((c) => {
    const name = header[c] as string;
    const cells = records.map((r) => r.fields[c] as string);
    const numbers = cells.map(cellNumber);
    // Features are stored as float32: a larger value would silently become Infinity.
    const huge = numbers.findIndex((n) => n !== null && Number.isFinite(n) && Math.abs(n) > FLOAT32_MAX);
    if (huge >= 0) throw dataError(`${path}: line ${(records[huge] as Row).line}, column "${name}": ${cells[huge]} is outside the float32 range (±3.4e38)`);
    const present = numbers.filter((n) => n !== null).length;
    if (present === 0) throw dataError(`${path}: column "${name}" has no values (every cell is empty or missing); drop it`);
    const text = numbers.flatMap((n, i) => (n !== null && !Number.isFinite(n) ? [i] : []));
    if (text.length === 0) return { name, kind: 'number', missing: present < cells.length };
    const first = text[0] as number;
    const at = `${path}: line ${(records[first] as Row).line}, column "${name}": "${cells[first]}" is not a number`;
    if (text.every((i) => DECIMAL_COMMA.test(cells[i] as string))) throw dataError(`${at} (Loom reads "." as the decimal point)`);
    if (text.length * 2 <= present) throw dataError(`${at} (most of the column's values are numbers; leave a missing value empty or write NA)`);
    const values = [...new Set(cells.filter((_, i) => numbers[i] !== null))].sort(compareLabels);
    // Text that is nearly unique per row (names, ids) says nothing a model could reuse, and one-hot would make it
    // hundreds of inputs.
    if (values.length > MAX_CATEGORY_SHARE * present && values.length > 20) {
      throw dataError(`${path}: column "${name}" has ${values.length} distinct text values in ${present} rows, an identifier rather than a category; leave it out with ?ignore=${encodeURIComponent(name)}`);
    }
    return { name, kind: 'category', values };
  });
}
