import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loomErrorOf as errorOf } from '../helpers/errors.js';
import { loadDataset, readRaw, stratifiedSplit } from '../../src/data/index.js';
import { preprocessingFor } from '../../src/data/preprocessing.js';
import { decodeModels, pickModel } from '../../src/engine/io/model.js';
import { encodeModel } from '../../src/engine/io/formats.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { applyPreprocessing, parsePreprocessing, type Preprocessing } from '../../src/engine/preprocess.js';
import { Rng } from '../../src/engine/rng.js';

/** Tables as users have them: text columns (categories) and missing values, read, split, encoded and stored. */

const dir = mkdtempSync(join(tmpdir(), 'loom-csv-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function csvFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const HEADER = ['size', 'colour', 'weight', 'label'];

/** 40 rows: size numeric with gaps, colour text (and a gap), weight numeric with an "NA"; two classes. */
function tableLines(): string[][] {
  const rng = new Rng(5);
  const colours = ['red', 'green', 'blue'];
  return Array.from({ length: 40 }, (_, i) => [
    i % 7 === 3 ? '' : String(Math.round(rng.next() * 100) / 10),
    i % 11 === 5 ? '' : (colours[i % 3] as string),
    i % 9 === 4 ? 'NA' : String(50 + i),
    i % 2 === 0 ? 'p' : 'q',
  ]);
}

describe('CSV tables with text and missing values', () => {
  it('reads a text column as its sorted categories, one-hot, and a missing number as NaN until the split', () => {
    const path = csvFile('small.csv', 'size,colour,label\n1,red,p\n,blue,q\n3,NA,p\n4,red,q\n');
    const raw = readRaw(`csv:${path}`);
    expect(raw.columns?.features).toEqual(['size', 'colour=blue', 'colour=red']);
    expect(raw.columns?.table).toEqual([
      { name: 'size', kind: 'number' },
      { name: 'colour', kind: 'category', values: ['blue', 'red'] },
    ]);
    expect(raw.inputShape).toEqual([3]);
    expect(Array.from(raw.x)).toEqual([1, 0, 1, Number.NaN, 1, 0, 3, 0, 0, 4, 0, 1]);
    // A table of numbers only reads as it always did: no table description, features are the columns.
    const plain = readRaw(`csv:${csvFile('plain.csv', 'a,b,label\n1,2,p\n3,4,q\n')}`);
    expect(plain.columns).toEqual({ features: ['a', 'b'], label: { name: 'label', index: 2 } });
  });

  it('fills a missing number with its column mean over the train split only, in every split', () => {
    const lines = tableLines();
    const ref = `csv:${csvFile('table.csv', [HEADER, ...lines].map((l) => l.join(',')).join('\n'))}`;
    const data = loadDataset(ref, { splitSeed: 3 });
    const train = stratifiedSplit(readRaw(ref), { splitSeed: 3 }).train;
    const mean = (column: number): number => {
      const values = train.map((i) => (lines[i] as string[])[column] as string).filter((s) => s !== '' && s !== 'NA').map(Number);
      return Math.fround(Math.fround(values.reduce((a, b) => a + Math.fround(b), 0)) / values.length);
    };
    const raw = data.columns?.raw;
    expect(raw?.map((c) => c.kind)).toEqual(['number', 'category', 'number']);
    const fill = (k: number): number => {
      const c = raw?.[k];
      return c?.kind === 'number' ? c.fill : Number.NaN;
    };
    expect(fill(0)).toBeCloseTo(mean(0), 5);
    expect(fill(2)).toBeCloseTo(mean(2), 4);
    // A test-split row whose size is missing would change the mean if the test rows took part.
    expect(data.columns?.features).toEqual(['size', 'colour=blue', 'colour=green', 'colour=red', 'weight']);
    for (const split of [data.train, data.val, data.test]) expect(split.x.every(Number.isFinite)).toBe(true);
  });

  it('encodes raw rows at prediction exactly as the data was encoded for training', () => {
    const lines = tableLines();
    const ref = `csv:${csvFile('table2.csv', [HEADER, ...lines].map((l) => l.join(',')).join('\n'))}`;
    const data = loadDataset(ref, { splitSeed: 4 });
    const p = preprocessingFor(data);
    expect(p.version).toBe(2);
    expect(p.columns?.map((c) => c.name)).toEqual(['size', 'colour', 'weight']);
    expect(p.labelColumn).toEqual({ name: 'label', index: 3 });
    const test = stratifiedSplit(readRaw(ref), { splitSeed: 4 }).test;
    // The test rows' cells as the file has them (text, empty, "NA"), label left out.
    const rows = test.map((i) => (lines[i] as string[]).slice(0, 3));
    expect(rows.some((r) => r.includes('') || r.includes('NA'))).toBe(true);
    const encoded = applyPreprocessing(p, rows);
    expect(encoded.length).toBe(data.test.x.length);
    // The same values up to float32 rounding (training normalizes the float32 cells in float32 steps).
    expect(Math.max(...encoded.map((v, i) => Math.abs(v - (data.test.x[i] as number))))).toBeLessThan(1e-6);
    // Numbers may come as numbers and a missing value as null; an unseen category is all zeros, as a missing one is.
    const unseen = applyPreprocessing(p, [[1.5, 'purple', 60]]);
    const missing = applyPreprocessing(p, [[1.5, null, 60]]);
    expect(Array.from(unseen)).toEqual(Array.from(missing));
    expect(Array.from(applyPreprocessing(p, [['1.5', 'red', '60']]))).toEqual(Array.from(applyPreprocessing(p, [[1.5, 'red', 60]])));
    expect(errorOf(() => applyPreprocessing(p, [['big', 'red', 60]])).message).toBe('row 0, "size": "big" is not a number (leave the cell empty for a missing value)');
    expect(errorOf(() => applyPreprocessing(p, [[1, 'red']])).message).toBe('row 0 has 2 values, the model takes 3 raw columns (size, colour, weight)');
  });

  it('refuses a column of numbers with a stray word, and a column with no values', () => {
    const typo = csvFile('typo.csv', 'a,b,label\n1,2,p\n3,4,q\n5,six,p\n7,8,q\n');
    expect(errorOf(() => readRaw(`csv:${typo}`)).message).toMatch(/line 4, column "b": "six" is not a number \(most of the column's values are numbers/);
    const names = csvFile('names.csv', `a,name,label\n${Array.from({ length: 30 }, (_, i) => `${i},car ${i % 25},${i % 2 ? 'p' : 'q'}`).join('\n')}\n`);
    expect(errorOf(() => readRaw(`csv:${names}`)).message).toMatch(/column "name" has 25 distinct text values in 30 rows, an identifier rather than a category; leave it out with \?ignore=name/);
    // Left out by the reference: the label's position counts the columns a model reads.
    const kept = readRaw(`csv:${names}?ignore=name`);
    expect(kept.columns).toEqual({ features: ['a'], label: { name: 'label', index: 1 } });
    const both = readRaw(`csv:${csvFile('ids.csv', 'id,a,b,label\nx1,1,2,p\nx2,3,4,q\n')}?label=label&ignore=id,b`);
    expect(both.columns?.features).toEqual(['a']);
    expect(Array.from(both.x)).toEqual([1, 3]);
    expect(errorOf(() => readRaw(`csv:${names}?ignore=nope`)).message).toMatch(/no column "nope" to ignore; the columns are "a", "name", "label"/);
    expect(errorOf(() => readRaw(`csv:${names}?ignore=label`)).message).toMatch(/"label" is the label column; it cannot be ignored/);
    expect(errorOf(() => readRaw(`csv:${names}?ignore=a,name`)).message).toMatch(/every column but the label is ignored/);
    const none = csvFile('none.csv', 'a,b,label\n1,,p\n3,?,q\n');
    expect(errorOf(() => readRaw(`csv:${none}`)).message).toMatch(/column "b" has no values/);
  });

  it('model files keep the raw columns (Loom file and LOOM bundle), and a malformed description is refused by name', () => {
    const lines = tableLines();
    const data = loadDataset(`csv:${csvFile('table3.csv', [HEADER, ...lines].map((l) => l.join(',')).join('\n'))}`, { splitSeed: 2 });
    const p = preprocessingFor(data);
    const net = new Network(sequentialNetworkSpec([5], [{ type: 'dense', units: 2 } as LayerSpec]), new Rng(1));
    for (const format of ['loom', 'loom-bundle'] as const) {
      expect(pickModel(decodeModels(encodeModel(net, format, { preprocessing: p }))).preprocessing, format).toEqual(p);
    }
    const json = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
    const bad = (patch: Record<string, unknown>): string => errorOf(() => parsePreprocessing({ ...json, ...patch })).message;
    expect(bad({ version: 1 })).toMatch(/columns needs version 2 or later/);
    expect(bad({ columns: [{ name: 'size', kind: 'number', fill: 0 }] })).toMatch(/columns expand to 1 inputs \(size\), not the 5 features/);
    expect(bad({ columns: [{ name: 'size', kind: 'date' }] })).toMatch(/columns\[0\]\.kind must be number or category/);
    const columns = p.columns as NonNullable<Preprocessing['columns']>;
    expect(bad({ columns: [columns[0], { name: 'colour', kind: 'category', values: ['blue', 'blue', 'red'] }, columns[2]] })).toMatch(/values must be a non-empty list of distinct strings/);
  });
});
