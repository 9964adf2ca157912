import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { checksumRaw, loadDataset, readRaw } from '../../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function csvFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function dataErrorOf(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LoomError);
    expect((err as LoomError).code).toBe('LOOM_ERR_DATA');
    return err as LoomError;
  }
  throw new Error('expected a data error');
}

/** n rows per label, features a = row index, b = label's position × 10. */
function rows(labels: readonly string[], n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) labels.forEach((label, k) => out.push(`${i},${k * 10},${label}`));
  return out.join('\n');
}

describe('csv', () => {
  it('reads a good file: the last column is the label, class names are the sorted distinct labels', () => {
    const path = csvFile('good.csv', `a,b,label\r\n${rows(['zeta', 'alpha', 'mid'], 5)}\r\n\r\n`);
    const raw = readRaw(`csv:${path}`);
    expect(raw.name).toBe('good.csv');
    expect(raw.count).toBe(15);
    expect(raw.inputShape).toEqual([2]);
    expect(raw.classNames).toEqual(['alpha', 'mid', 'zeta']);
    // First row: a=0, b=0 (zeta is the first label written), label zeta = class 2.
    expect(Array.from(raw.x.subarray(0, 2))).toEqual([0, 0]);
    expect(raw.y[0]).toBe(2);
    expect(raw.y[1]).toBe(0);
    expect(Array.from(raw.x.subarray(2, 4))).toEqual([0, 10]);

    const d = loadDataset(`csv:${path}`, { splitSeed: 1 });
    expect(d.numClasses).toBe(3);
    expect(d.train.count + d.val.count + d.test.count).toBe(15);
    expect(d.normalization.kind).toBe('zscore');
  });

  it('sorts numeric labels as numbers', () => {
    const path = csvFile('numeric.csv', `x,y,class\n${rows(['10', '2', '1'], 3)}\n`);
    expect(readRaw(`csv:${path}`).classNames).toEqual(['1', '2', '10']);
  });

  it('takes the label column by name, from the options or the reference', () => {
    const fixture = join(import.meta.dirname, '..', 'fixtures', 'tiny.csv');
    const byOption = readRaw(`csv:${fixture}`, { labelColumn: 'kind' });
    expect(byOption.inputShape).toEqual([3]);
    expect(byOption.classNames).toEqual(['large', 'small']);
    expect(byOption.count).toBe(24);
    // Row 1 is "0.82,small,1.65,10.6": the features skip the label column.
    expect(Array.from(byOption.x.subarray(0, 3))).toEqual([0.82, 1.65, 10.6].map(Math.fround));
    const byRef = readRaw(`csv:${fixture}?label=kind`);
    expect(byRef.x).toEqual(byOption.x);
    expect(byRef.y).toEqual(byOption.y);
    const d = loadDataset(`csv:${fixture}?label=kind`, { splitSeed: 2 });
    expect(d.train.count + d.val.count + d.test.count).toBe(24);
    expect(dataErrorOf(() => readRaw(`csv:${fixture}`, { labelColumn: 'colour' })).message).toMatch(
      /no label column "colour"; the columns are "width", "kind", "height", "weight"/,
    );
  });

  it('a non-numeric feature names the line and the column', () => {
    const path = csvFile('bad-number.csv', 'a,b,label\n1,2,x\n3,4,y\n5,oops,x\n');
    const err = dataErrorOf(() => readRaw(`csv:${path}`));
    expect(err.message).toContain(path);
    // b's other values are numbers: a typo, refused, rather than every number of b read as a category.
    expect(err.message).toMatch(/line 4, column "b": "oops" is not a number \(most of the column's values are numbers/);
    // An empty cell is a missing value (csv-table.test.ts); a column with no value at all is refused.
    const empty = csvFile('empty-field.csv', 'a,b,label\n1,,x\n2,NA,y\n');
    expect(dataErrorOf(() => readRaw(`csv:${empty}`)).message).toMatch(/column "b" has no values \(every cell is empty or missing\); drop it/);
  });

  it('a row with the wrong number of fields names the line', () => {
    const path = csvFile('ragged.csv', 'a,b,label\n1,2,x\n\n3,4,5,y\n');
    expect(dataErrorOf(() => readRaw(`csv:${path}`)).message).toMatch(/line 4 has 4 fields, the header has 3/);
  });

  it('refuses a single class, an empty file, and too few rows per class to split', () => {
    const single = csvFile('single.csv', `a,b,label\n${rows(['only'], 6)}\n`);
    expect(dataErrorOf(() => readRaw(`csv:${single}`)).message).toMatch(/single class "only"/);
    const headerOnly = csvFile('header-only.csv', 'a,b,label\n');
    expect(dataErrorOf(() => readRaw(`csv:${headerOnly}`)).message).toMatch(/no data rows/);
    const small = csvFile('small.csv', `a,b,label\n${rows(['p', 'q'], 2)}\n`);
    expect(dataErrorOf(() => loadDataset(`csv:${small}`)).message).toMatch(/class "p" has 2 sample\(s\)/);
  });

  it('a missing file is a clear error naming the path', () => {
    const missing = join(dir, 'nowhere', 'data.csv');
    expect(dataErrorOf(() => loadDataset(`csv:${missing}`)).message).toBe(`csv: file not found: ${missing}`);
  });

  it('the checksum follows the file contents', () => {
    const path = csvFile('changing.csv', `a,b,label\n${rows(['p', 'q'], 4)}\n`);
    const before = loadDataset(`csv:${path}`).checksum;
    expect(loadDataset(`csv:${path}`).checksum).toBe(before);
    writeFileSync(path, `a,b,label\n${rows(['p', 'q'], 4)}\n99,0,p\n`);
    expect(loadDataset(`csv:${path}`).checksum).not.toBe(before);
  });
  it('reads quoted fields with delimiters, doubled quotes and newlines, and counts lines through them', () => {
    const path = csvFile('quoted.csv', 'a,b,"the ""label"""\n1,2,"x, with comma"\n3,4,"multi\nline"\r\n5,6,"x, with comma"\n7,oops,y\n');
    const err = dataErrorOf(() => readRaw(`csv:${path}`));
    // The record on lines 3-4 spans two lines: the bad value is on line 6.
    expect(err.message).toMatch(/line 6, column "b": "oops" is not a number/);
    writeFileSync(path, 'a,b,"the ""label"""\n1,2,"x, with comma"\n3,4,"multi\nline"\r\n5,6,"x, with comma"\n7,8,"multi\nline"\n9,10,"x, with comma"\n11,12,"multi\nline"\n');
    const raw = readRaw(`csv:${path}`);
    expect(raw.count).toBe(6);
    expect(raw.classNames).toEqual(['multi\nline', 'x, with comma']);
    expect(Array.from(raw.y)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(raw.columns).toEqual({ features: ['a', 'b'], label: { name: 'the "label"', index: 2 } });
  });

  it('detects ";", tab and "|" delimiters from the header, and takes one from ?delimiter=', () => {
    const body = (d: string): string => `a${d}b${d}label\n${rows(['p', 'q'], 4).replaceAll(',', d)}\n`;
    const comma = readRaw(`csv:${csvFile('comma.csv', body(','))}`);
    for (const [name, d] of [['semi.csv', ';'], ['tab.tsv', '\t'], ['pipe.csv', '|']] as const) {
      const raw = readRaw(`csv:${csvFile(name, body(d))}`);
      expect(raw.x, name).toEqual(comma.x);
      expect(raw.y, name).toEqual(comma.y);
    }
    // The header decides: a decimal comma in a ';' file is then a clear error, not a split field.
    const decimal = csvFile('decimal.csv', 'a;b;label\n1,5;2;p\n3;4;q\n');
    expect(dataErrorOf(() => readRaw(`csv:${decimal}`)).message).toMatch(/line 2, column "a": "1,5" is not a number \(Loom reads "\." as the decimal point\)/);
    // A tie (one ',' and one ';') detects ','; ?delimiter= says otherwise.
    const explicit = csvFile('explicit.csv', 'a,b;label\n1;p\n2;q\n3;p\n4;q\n');
    expect(dataErrorOf(() => readRaw(`csv:${explicit}`)).message).toMatch(/line 2 has 1 fields, the header has 2/);
    expect(readRaw(`csv:${explicit}?delimiter=;`).columns?.features).toEqual(['a,b']);
    expect(readRaw(`csv:${csvFile('tab2.tsv', body('\t'))}?delimiter=tab&label=label`).classNames).toEqual(['p', 'q']);
    expect(dataErrorOf(() => readRaw(`csv:${explicit}?delimiter=x`)).message).toMatch(/unknown delimiter "x"/);
    expect(dataErrorOf(() => readRaw(`csv:${explicit}?label=a&sep=;`)).message).toMatch(/unknown option "sep"/);
  });

  it('skips a UTF-8 byte-order mark', () => {
    const plain = readRaw(`csv:${csvFile('plain.csv', `a,b,label\n${rows(['p', 'q'], 3)}\n`)}`);
    const bom = readRaw(`csv:${csvFile('bom.csv', `\uFEFFa,b,label\n${rows(['p', 'q'], 3)}\n`)}`);
    expect(bom.columns?.features).toEqual(['a', 'b']);
    expect(bom.x).toEqual(plain.x);
    expect(checksumRaw(bom)).toBe(checksumRaw(plain));
  });

  it('names the line of a quoting error, and refuses values beyond float32', () => {
    const open = csvFile('open-quote.csv', 'a,b,label\n1,2,p\n3,4,"q\n5,6,p\n');
    expect(dataErrorOf(() => readRaw(`csv:${open}`)).message).toMatch(/open-quote\.csv: line \d+.*quoted field is never closed/);
    const inner = csvFile('inner-quote.csv', 'a,b,label\n1,2,p\n3,4,q"r\n');
    expect(dataErrorOf(() => readRaw(`csv:${inner}`)).message).toMatch(/inner-quote\.csv: line 3, field 3: a " inside an unquoted field/);
    const huge = csvFile('huge.csv', 'a,b,label\n1,2,p\n3,1e39,q\n');
    expect(dataErrorOf(() => readRaw(`csv:${huge}`)).message).toMatch(/line 3, column "b": 1e39 is outside the float32 range/);
  });
});
