import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loomProcess as loom } from '../helpers/cli.js';
import { loadDataset, stratifiedSplit, readRaw } from '../../src/data/index.js';
import { predict } from '../../src/engine/eval.js';
import { readModelFile } from '../../src/engine/io/files.js';
import { pickModel, type LoadedModel } from '../../src/engine/io/model.js';
import { encodeOnnxModel } from '../../src/engine/io/onnx/index.js';
import { argmax } from '../../src/engine/math.js';
import { tensor } from '../../src/engine/tensor.js';
import { buildServeApp } from '../../src/serve/app.js';
import { maxAbsDiff, runOnnx } from '../onnx/helpers.js';

/**
 * A table as users have one (a text column, missing numbers written as empty cells and "NA"), searched for real:
 * the exported ensemble reads the raw rows in `loom predict`, `loom serve` and ONNX and gives the classes the
 * network gives on the encoded split, so text and gaps are handled the same way in training and after export.
 */

const dir = mkdtempSync(join(tmpdir(), 'loom-predict-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPLIT_SEED = 5;
const COLOURS = ['red', 'green', 'blue'];
/** Cells per row: size (a number, some empty), colour (text), weight (a number, some "NA"), then the label. */
const lines: string[][] = Array.from({ length: 180 }, (_, i) => {
  const colour = COLOURS[i % 3] as string;
  const size = (i * 37) % 100;
  // The class follows the colour and the size, so a model must read both the one-hot column and the number.
  const label = colour === 'red' ? (size < 50 ? 'small-red' : 'big-red') : size < 50 ? 'small' : 'big';
  return [i % 13 === 6 ? '' : String(size), colour, i % 10 === 3 ? 'NA' : String(40 + ((i * 17) % 30)), label];
});
let csvRef = '';
let exported = '';
let model: LoadedModel;

beforeAll(async () => {
  const csv = join(dir, 'table.csv');
  writeFileSync(csv, ['size,colour,weight,kind', ...lines.map((l) => l.join(','))].join('\n') + '\n');
  csvRef = `csv:${csv}`;
  const config = join(dir, 'search.json');
  writeFileSync(
    config,
    JSON.stringify({
      seed: 2,
      // The table comes from --data, as a user with a config for another data set would give it.
      data: { ref: 'iris', splitSeed: SPLIT_SEED },
      population: 3,
      generations: 1,
      elite: 1,
      training: { epochs: 40, batchSize: 16 },
      generator: { dModels: [16], numHeads: [2], gridShapes: ['1x1 Mono'] },
    }),
  );
  const res = await loom(['search', config, '--data', csvRef, '--db', join(dir, 'runs.db'), '--workers', '1', '--json']);
  expect(res.code, res.stderr).toBe(0);
  const files = (JSON.parse(res.stdout) as { files: string[] }).files;
  exported = files.find((f) => f.endsWith('ensemble.loom')) as string;
  model = pickModel(readModelFile(exported));
}, 180_000);

/** The test split's raw cells (label left out), labels, and the network's classes on the encoded split. */
function testSplit(): { cells: string[][]; labels: string[]; expected: number[]; probs: Float32Array } {
  const data = loadDataset(csvRef, { splitSeed: SPLIT_SEED });
  const indices = stratifiedSplit(readRaw(csvRef), { splitSeed: SPLIT_SEED }).test;
  const cells = indices.map((i) => (lines[i] as string[]).slice(0, 3));
  const labels = indices.map((i) => (lines[i] as string[])[3] as string);
  const width = data.featureSize;
  const probs = predict(model.network, tensor([data.test.count, width], data.test.x)).data;
  const classes = data.numClasses;
  return { cells, labels, expected: Array.from({ length: data.test.count }, (_, r) => argmax(probs, r * classes, classes)), probs };
}

describe('a table with text and missing values, searched and deployed', () => {
  it('the exported model reads the raw columns: one-hot colours, the training means for gaps', () => {
    const p = model.preprocessing;
    expect(p?.columns?.map((c) => `${c.name}:${c.kind}`)).toEqual(['size:number', 'colour:category', 'weight:number']);
    expect(p?.features).toEqual(['size', 'colour=blue', 'colour=green', 'colour=red', 'weight']);
    expect(p?.labelColumn).toEqual({ name: 'kind', index: 3 });
    expect(pickModel(readModelFile(exported.replace(/ensemble\.loom$/, 'ensemble.bundle.json'))).preprocessing).toEqual(p);
  });

  it('loom predict on the raw CSV (columns reordered, gaps, an unseen colour) gives the classes of the encoded split', async () => {
    const { cells, labels, expected } = testSplit();
    const classes = model.preprocessing?.classes as readonly string[];
    // Chance is 1/4: a model that reads the colour column and the size.
    expect(expected.filter((c, i) => classes[c] === labels[i]).length / labels.length).toBeGreaterThan(0.6);
    const reordered = join(dir, 'reordered.csv');
    writeFileSync(reordered, ['kind,weight,colour,size', ...cells.map((c, i) => [labels[i], c[2], c[1], c[0]].join(','))].join('\n'));
    let res = await loom(['predict', '--model', exported, '--input', reordered, '--labels']);
    expect(res.code, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as { label: string }[]).map((o) => classes.indexOf(o.label))).toEqual(expected);
    // JSON rows: numbers as numbers, gaps as null; a colour never seen reads as a missing colour.
    const json = join(dir, 'rows.json');
    const asJson = (c: readonly string[]): (number | string | null)[] => c.map((v, k) => (k === 1 ? v : v === '' || v === 'NA' ? null : Number(v)));
    writeFileSync(json, JSON.stringify([...cells.map(asJson), [20, 'purple', 50], [20, null, 50]]));
    res = await loom(['predict', '--model', exported, '--input', json]);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as number[][];
    expect(out.slice(0, cells.length).map((p) => argmax(p, 0, p.length))).toEqual(expected);
    expect(out[cells.length]).toEqual(out[cells.length + 1]);
    // A word in a number column is named, no stack trace.
    const typo = join(dir, 'typo.csv');
    writeFileSync(typo, 'size,colour,weight\nbig,red,50\n');
    res = await loom(['predict', '--model', exported, '--input', typo]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(`loom predict: row 0, "size": "big" is not a number (leave the cell empty for a missing value)`);
    res = await loom(['inspect', '--model', exported]);
    expect(res.stdout).toMatch(/reads 3 raw columns: size \(number, missing → [\d.]+\), colour \(one-hot of 3\), weight \(number, missing → [\d.]+\)/);
  }, 60_000);

  it('loom search given the CSV itself says how to search it (the config with --data, as this file\'s search ran)', async () => {
    const csv = csvRef.slice('csv:'.length);
    const res = await loom(['search', csv]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`loom search takes a config file, not data: try loom search configs/csv-example.json --data "csv:${csv}"`);
    const resumed = await loom(['search', '--resume', 'run-x', '--data', csvRef]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr.trim()).toBe('loom search: --data cannot be combined with --resume: a resumed run keeps the data it was started with');
  });

  it('loom serve takes rows of numbers, text and nulls and answers as loom predict does', async () => {
    const { cells, expected } = testSplit();
    const app = await buildServeApp({ model, modelBytes: readFileSync(exported) });
    try {
      const description = (await app.inject({ method: 'GET', url: '/model' })).json() as { inputSize: number; columns: { name: string }[] };
      expect(description.inputSize).toBe(3);
      expect(description.columns.map((c) => c.name)).toEqual(['size', 'colour', 'weight']);
      const rows = cells.map((c) => c.map((v) => (v === '' ? null : v)));
      const res = await app.inject({ method: 'POST', url: '/predict', payload: { rows } });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as { predictions: { index: number }[] }).predictions.map((p) => p.index)).toEqual(expected);
      const bad = await app.inject({ method: 'POST', url: '/predict', payload: { rows: [[1, 'red', { weight: 3 }]] } });
      expect(bad.statusCode).toBe(400);
      const short = await app.inject({ method: 'POST', url: '/predict', payload: { rows: [[1, 'red']] } });
      expect(short.statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('the ONNX export takes the encoded inputs and fills NaN with the training means, as Loom does', async () => {
    const p = model.preprocessing;
    if (!p?.columns) throw new Error('expected raw columns');
    const bytes = encodeOnnxModel(model.network, { preprocessing: p });
    // Encoded by hand, independently of Loom's encoder: one-hot colours, NaN where a number is missing.
    const colours = (p.columns[1] as { values: readonly string[] }).values;
    const { cells, probs } = testSplit();
    const x = Float32Array.from(cells.flatMap((c) => [c[0] === '' ? Number.NaN : Number(c[0]), ...colours.map((v) => (v === c[1] ? 1 : 0)), c[2] === 'NA' ? Number.NaN : Number(c[2])]));
    expect(x.some(Number.isNaN)).toBe(true);
    const onnx = await runOnnx(bytes, { data: x, shape: [cells.length, 5] });
    expect(maxAbsDiff(probs, onnx.output)).toBeLessThan(1e-4);
  });
});
