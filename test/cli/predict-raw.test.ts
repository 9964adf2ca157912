import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loomProcess as loom } from '../helpers/cli.js';
import { loadDataset, readRaw, stratifiedSplit } from '../../src/data/index.js';
import { predict } from '../../src/engine/eval.js';
import { readModelFile } from '../../src/engine/io/files.js';
import { pickModel, type LoadedModel } from '../../src/engine/io/model.js';
import { argmax } from '../../src/engine/math.js';
import { tensor } from '../../src/engine/tensor.js';

/**
 * Issue 13's acceptance test for preprocessing: a real `loom search` on a z-scored CSV exports an ensemble that
 * `loom predict` runs on raw rows as a user has them (columns in any order, with or without the label column,
 * with or without a header) and gets the same classes as the network on the normalized split.
 */

const dir = mkdtempSync(join(tmpdir(), 'loom-predict-raw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPLIT_SEED = 3;
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
let csvRef = '';
let exported = '';
let model: LoadedModel;

/** Iris written as a CSV (the raw measurements), searched for real; the ensemble file it exports. */
beforeAll(async () => {
  const iris = readRaw('iris');
  const lines = [[...FEATURES, 'species'].join(',')];
  for (let i = 0; i < iris.count; i++) lines.push([...iris.x.subarray(i * 4, i * 4 + 4)].map((v) => String(Math.fround(v))).concat(iris.classNames[iris.y[i] as number] as string).join(','));
  const csv = join(dir, 'iris.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  csvRef = `csv:${csv}`;
  const config = join(dir, 'search.json');
  writeFileSync(
    config,
    JSON.stringify({
      seed: 4,
      data: { ref: csvRef, splitSeed: SPLIT_SEED },
      population: 3,
      generations: 1,
      elite: 1,
      training: { epochs: 30, batchSize: 16 },
      generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'] },
    }),
  );
  const res = await loom(['search', config, '--db', join(dir, 'runs.db'), '--workers', '1', '--json']);
  expect(res.code, res.stderr).toBe(0);
  const files = (JSON.parse(res.stdout) as { files: string[] }).files;
  exported = files.find((f) => f.endsWith('ensemble.loom')) as string;
  model = pickModel(readModelFile(exported));
}, 180_000);

/** The raw test-split rows (straight from the CSV's numbers) and the network's classes on the normalized split. */
function testSplit(): { raw: number[][]; labels: string[]; expected: number[] } {
  const data = loadDataset(csvRef, { splitSeed: SPLIT_SEED });
  const rawData = readRaw(csvRef);
  const indices = stratifiedSplit(rawData, { splitSeed: SPLIT_SEED }).test;
  const raw = indices.map((i) => Array.from(rawData.x.subarray(i * 4, i * 4 + 4)));
  const labels = indices.map((i) => rawData.classNames[rawData.y[i] as number] as string);
  const probs = predict(model.network, tensor([data.test.count, 4], data.test.x)).data;
  const expected = Array.from({ length: data.test.count }, (_, r) => argmax(probs, r * 3, 3));
  return { raw, labels, expected };
}

describe('loom predict on raw rows', () => {
  it('the exported model carries the preprocessing fitted on the training split', () => {
    const data = loadDataset(csvRef, { splitSeed: SPLIT_SEED });
    const p = model.preprocessing;
    expect(p).not.toBeNull();
    expect(p?.features).toEqual(FEATURES);
    expect(p?.classes).toEqual([...data.classNames]);
    expect(p?.labelColumn).toEqual({ name: 'species', index: 4 });
    expect(p?.normalization).toEqual(data.normalization);
    // The same transform travels in the LOOM bundle written next to it.
    expect(pickModel(readModelFile(exported.replace(/ensemble\.loom$/, 'ensemble.bundle.json'))).preprocessing).toEqual(p);
  });

  it('gives the classes of the normalized split from raw CSV rows: reordered columns with the label, or no header', async () => {
    const { raw, labels, expected } = testSplit();
    const classes = model.preprocessing?.classes as readonly string[];
    // A model that learned something (chance is 1/3), so raw rows fed unnormalized would not give these classes by luck.
    expect(expected.filter((c, i) => classes[c] === labels[i]).length / labels.length).toBeGreaterThan(0.6);
    // A header in another order, the label column in the middle: columns are matched by name.
    const named = join(dir, 'named.csv');
    writeFileSync(named, [['petal_width', 'sepal_length', 'species', 'petal_length', 'sepal_width'].join(','), ...raw.map((r, i) => [r[3], r[0], labels[i], r[2], r[1]].join(','))].join('\n'));
    let res = await loom(['predict', '--model', exported, '--input', named, '--labels']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { label: string; probabilities: number[] }[];
    expect(out.map((o) => classes.indexOf(o.label))).toEqual(expected);
    for (const o of out) expect(o.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // No header, the training file's column order with its label column: the label is dropped by position.
    const bare = join(dir, 'bare.csv');
    writeFileSync(bare, raw.map((r, i) => [...r, labels[i]].join(',')).join('\n'));
    res = await loom(['predict', '--model', exported, '--input', bare]);
    expect(res.code, res.stderr).toBe(0);
    const probs = JSON.parse(res.stdout) as number[][];
    expect(probs.map((p) => argmax(p, 0, p.length))).toEqual(expected);
    // JSON arrays of raw numbers.
    const json = join(dir, 'raw.json');
    writeFileSync(json, JSON.stringify(raw));
    res = await loom(['predict', '--model', exported, '--input', json, '--labels']);
    expect((JSON.parse(res.stdout) as { label: string }[]).map((o) => classes.indexOf(o.label))).toEqual(expected);
  }, 60_000);

  it('refuses non-finite and out-of-range values and missing columns with one clear message, printing no NaN', async () => {
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, '[[1e39, 3, 1.4, 0.2]]');
    let res = await loom(['predict', '--model', exported, '--input', huge]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim()).toBe(`loom predict: ${huge}: sample 0 value 0 is 1e+39, outside the float32 range (±3.4e38)`);
    const missing = join(dir, 'missing.csv');
    writeFileSync(missing, 'sepal_length,sepal_width,petal_length\n5.1,3.5,1.4\n');
    res = await loom(['predict', '--model', exported, '--input', missing]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^loom predict: \S+missing\.csv: no column "petal_width"; the model reads "sepal_length", "sepal_width", "petal_length", "petal_width"/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    const text = join(dir, 'text.csv');
    writeFileSync(text, 'sepal_length,sepal_width,petal_length,petal_width\n5.1,NaN,1.4,0.2\n');
    res = await loom(['predict', '--model', exported, '--input', text]);
    expect(res.stderr.trim()).toMatch(/line 2, column "sepal_width": "NaN" is not a number$/);
  }, 30_000);
});
