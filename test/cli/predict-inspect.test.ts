import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeLoomBundle } from '../../src/engine/io/loom-bundle.js';
import { encodeLoomModel } from '../../src/engine/io/loom-format.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor } from '../../src/engine/tensor.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-predict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

function model(): Network {
  const spec = sequentialNetworkSpec([2, 2], [
    { type: 'flatten' },
    { type: 'dense', units: 3, activation: 'tanh' },
    { type: 'parallel', combine: 'concat', branches: [{ type: 'dense', units: 2 }, { type: 'dense', units: 1, activation: 'sigmoid' }] },
    { type: 'softmax' },
  ] as { type: string }[] as LayerSpec[]);
  const network = new Network(spec, new Rng(21));
  network.modelId = 'demo';
  return network;
}

const rows = [[1, 2, 3, 4], [0, -1, 0.5, 2], [3, 3, 3, 3], [-2, 0, 1, 0], [0.25, 0.5, 0.75, 1]];
const expected = (network: Network): number[][] => {
  const y = network.forward(tensor([rows.length, 2, 2], rows.flat()));
  return rows.map((_, r) => Array.from(y.data.subarray(r * 3, (r + 1) * 3)));
};

describe('loom predict', () => {
  const network = model();
  const loomPath = file('demo.safetensors', encodeLoomModel(network));
  const bundlePath = file('demo.json', encodeLoomBundle([{ id: 'demo', network }]));
  const jsonInput = file('in.json', JSON.stringify(rows.map((r) => [[r[0], r[1]], [r[2], r[3]]])));
  const csvInput = file('in.csv', `a,b,c,d\n${rows.map((r) => r.join(',')).join('\n')}\n`);

  it('runs a Loom model file on JSON input and prints one array per input', async () => {
    const { code, out } = await cli('predict', '--model', loomPath, '--input', jsonInput);
    expect(code).toBe(0);
    const printed = JSON.parse(out) as number[][];
    // printed at the shortest decimal that reads back as the same float32
    expect(printed.map((r) => r.map(Math.fround))).toEqual(expected(network));
    expect(out.split('\n')).toHaveLength(rows.length + 2);
  });

  it('runs a LOOM bundle on CSV input with a header, in batches, with the same results', async () => {
    const { code, out } = await cli('predict', '--model', bundlePath, '--input', csvInput, '--batch', '2');
    expect(code).toBe(0);
    expect((JSON.parse(out) as number[][]).map((r) => r.map(Math.fround))).toEqual(expected(network));
  });

  it('names the expected and actual sizes when an input does not fit the model', async () => {
    const bad = file('bad.csv', '1,2,3,4\n1,2,3\n');
    const { code, err } = await cli('predict', '--model', loomPath, '--input', bad);
    expect(code).toBe(1);
    expect(err).toBe('loom predict: input sample 1 has 3 values, but model "demo" expects 4 (input shape [2, 2])');
    const text = file('text.csv', 'a,b,c,d\n1,2,x,4\n');
    expect((await cli('predict', '--model', loomPath, '--input', text)).err).toBe(`loom predict: ${text}: line 2 column 3 is "x", not a number`);
    const nested = file('nested.json', '[[1, 2, 3, 4], [1, [2, null], 3, 4]]');
    expect((await cli('predict', '--model', loomPath, '--input', nested)).err).toBe(`loom predict: ${nested}: sample 1 value 2 is null, not a finite number`);
    // Deep nesting is refused with a message, not a stack overflow (JSON.parse itself copes with it).
    const deep = file('deep.json', `[${'['.repeat(100_000)}1${']'.repeat(100_000)}]`);
    expect((await cli('predict', '--model', loomPath, '--input', deep)).err).toBe(`loom predict: ${deep}: sample 0 is nested deeper than 32 levels`);
    const huge = file('huge.csv', '1,2,3,1e39\n');
    const r = await cli('predict', '--model', loomPath, '--input', huge);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`loom predict: ${huge}: line 1 column 4 is 1e39, outside the float32 range (±3.4e38)`);
  });

  it('reports truncated, garbled and missing model files as clear errors without a stack trace', async () => {
    const bytes = encodeLoomModel(network);
    const truncated = file('cut.safetensors', bytes.subarray(0, bytes.length - 10));
    let r = await cli('predict', '--model', truncated, '--input', jsonInput);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^loom predict: \S*cut\.safetensors: tensor "L2\.branch\.1\.kernel": truncated: its data ends at byte \d+ but the file holds \d+ data bytes$/);
    expect(r.err).not.toMatch(/\n\s+at /);
    const garbled = file('garbled.json', '{"type": "modelhost/bundle", "models": [');
    r = await cli('predict', '--model', garbled, '--input', jsonInput);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^loom predict: LOOM bundle: not valid JSON/);
    r = await cli('predict', '--model', join(dir, 'nope.safetensors'), '--input', jsonInput);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`loom predict: model file not found: ${join(dir, 'nope.safetensors')}`);
    r = await cli('predict', '--model', loomPath, '--input', join(dir, 'nope.json'));
    expect(r.err).toBe(`loom predict: input file not found: ${join(dir, 'nope.json')}`);
    r = await cli('predict', '--model', loomPath);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs --input FILE/);
  });

  it('prints labels and probabilities; a file without stored preprocessing numbers its classes', async () => {
    const { code, out } = await cli('predict', '--model', loomPath, '--input', jsonInput, '--labels');
    expect(code).toBe(0);
    const printed = JSON.parse(out) as { label: string; probabilities: number[] }[];
    const want = expected(network);
    expect(printed.map((p) => p.probabilities.map(Math.fround))).toEqual(want);
    expect(printed.map((p) => p.label)).toEqual(want.map((row) => String(row.indexOf(Math.max(...row)))));
  });

  it('prints help', async () => {
    const { code, out } = await cli('predict', '--help');
    expect(code).toBe(0);
    expect(out).toMatch(/^usage: loom predict --model FILE --input FILE \[--batch N\]/);
  });
});

describe('loom inspect', () => {
  const network = model();
  network.setFrozen(1, true);
  const loomPath = file('inspect.safetensors', encodeLoomModel(network, { dtype: 'float16', metadata: { note: 'hi' } }));

  it('prints each layer with its shapes and parameter count, branches indented, and the total', async () => {
    const { code, out } = await cli('inspect', '--model', loomPath);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toBe('model "demo" — Loom model file, float16 weights');
    expect(lines[1]).toBe('grid 1×1×4, input [2, 2] → output [3]');
    expect(lines[2]).toBe('preprocessing: none stored (inputs go in as given)');
    const row = (prefix: string): string[] => (lines.find((l) => l.startsWith(prefix)) ?? '').trim().split(/\s{2,}/);
    expect(row('0 (0,0,0)')).toEqual(['0 (0,0,0)', 'flatten', '[2, 2]', '[4]', '0']);
    expect(row('1 (0,0,1)')).toEqual(['1 (0,0,1)', 'dense (tanh)', '[4]', '[3]', '15', 'frozen']);
    expect(row('2 (0,0,2)')).toEqual(['2 (0,0,2)', 'parallel', '[3]', '[3]', '12']);
    expect(row('  branch 1')).toEqual(['branch 1', 'dense (sigmoid)', '[3]', '[1]', '4']);
    expect(lines[lines.length - 1]).toBe(`total parameters: ${network.paramCount()}`);
    expect(network.paramCount()).toBe(27);
  });

  it('prints the blueprint as JSON', async () => {
    const { code, out } = await cli('inspect', '--model', loomPath, '--json');
    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json.models).toHaveLength(1);
    expect(json.models[0].metadata).toEqual({ note: 'hi' });
    expect(json.models[0].blueprint.totalParameters).toBe(27);
    expect(json.models[0].blueprint.layers.map((l: { type: string }) => l.type)).toEqual(['flatten', 'dense', 'parallel', 'softmax']);
  });

  it('lists every model of a bundle, or the one asked for', async () => {
    const other = new Network(sequentialNetworkSpec([3], [{ type: 'dense', units: 1 } as LayerSpec]), new Rng(2));
    const path = file('two.json', encodeLoomBundle([{ id: 'b', network: other }, { id: 'a', network }]));
    let r = await cli('inspect', '--model', path);
    expect(r.out.match(/^model "(\w)"/gm)).toEqual(['model "a"', 'model "b"']);
    r = await cli('inspect', '--model', path, '--id', 'b');
    expect(r.out).toMatch(/total parameters: 4$/);
    r = await cli('predict', '--model', path, '--input', file('one.json', '[1, 2, 3]'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/holds 2 models \("a", "b"\); choose one by id/);
  });

  it('prints help and refuses a missing --model', async () => {
    expect((await cli('inspect', '--help')).out).toMatch(/^usage: loom inspect --model FILE \[--json\]/);
    const r = await cli('inspect');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs --model FILE/);
  });
});
