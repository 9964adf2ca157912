import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { readModelFile, writeFileReplacing, writeModel } from '../../src/engine/io/files.js';
import { encodeModel, formatForPath, MODEL_FORMATS, MODEL_FORMAT_NAMES } from '../../src/engine/io/formats.js';
import { encodeLoomBundle } from '../../src/engine/io/loom-bundle.js';
import { encodeLoomModel } from '../../src/engine/io/loom-format.js';
import { decodeModels, pickModel } from '../../src/engine/io/model.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import type { Preprocessing } from '../../src/engine/preprocess.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor } from '../../src/engine/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function network(): Network {
  const spec = sequentialNetworkSpec([3], [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }, { type: 'softmax' }] as LayerSpec[]);
  const net = new Network(spec, new Rng(5));
  net.modelId = 'tiny';
  return net;
}

const preprocessing: Preprocessing = {
  version: 1,
  inputShape: [3],
  layout: { kind: 'features' },
  features: ['x', 'y', 'z'],
  normalization: { kind: 'zscore', mean: [1, 2, 3], std: [0.5, 1, 2] },
  classes: ['cat', 'dog'],
  labelColumn: { name: 'animal', index: 3 },
};

const outputs = (net: Network): number[] => Array.from(net.forward(tensor([2, 3], [1, 2, 3, -1, 0, 4])).data);

describe('the one list of model formats', () => {
  it('every format Loom reads back round-trips a network with its metadata and preprocessing', () => {
    const net = network();
    expect(MODEL_FORMAT_NAMES).toEqual(MODEL_FORMATS.map((f) => f.name));
    const readable = ['loom', 'loom-bundle'] as const;
    for (const format of readable) {
      expect(MODEL_FORMAT_NAMES).toContain(format);
      const bytes = encodeModel(net, format, { runId: 'r1', preprocessing });
      const model = pickModel(decodeModels(bytes));
      expect(model.format, format).toBe(format);
      expect(model.preprocessing, format).toEqual(preprocessing);
      expect(model.metadata.runId, format).toBe('r1');
      expect(outputs(model.network), format).toEqual(outputs(net));
    }
  });

  it('stores the bundle\'s metadata under cfg.loomts, which LOOM ignores', () => {
    const text = new TextDecoder().decode(encodeModel(network(), 'loom-bundle', { preprocessing }));
    const bundle = JSON.parse(text) as { models: { cfg: { loomts: { metadata: { preprocessing: unknown } } } }[] };
    expect(bundle.models[0]?.cfg.loomts.metadata.preprocessing).toEqual(preprocessing);
  });

  it('passes a dtype to the format that stores it and refuses one it cannot', () => {
    const model = pickModel(decodeModels(encodeModel(network(), 'loom', {}, { dtype: 'float16', modelId: 'x' })));
    expect(model.dtype).toBe('float16');
    expect(model.modelId).toBe('x');
    expect(() => encodeModel(network(), 'loom-bundle', {}, { dtype: 'float16' })).toThrow(/loom-bundle stores .* weights, not "float16"/);
    expect(() => encodeModel(network(), 'nope' as 'loom')).toThrow(/unknown model format "nope" \(known: loom, loom-bundle/);
  });

  it('guesses the format from the output path, by extension', () => {
    expect(formatForPath('a/model.json')).toBe('loom-bundle');
    expect(formatForPath('a/model.loom')).toBe('loom');
    expect(formatForPath('a/model.safetensors')).toBe('loom');
    expect(formatForPath('a/model.json', 'loom')).toBe('loom');
    expect(() => formatForPath('m', 'pt')).toThrow(LoomError);
  });
});

describe('old files and inconsistent preprocessing', () => {
  it('files written before preprocessing was stored load with preprocessing null', () => {
    const net = network();
    const old = [encodeLoomModel(net, { metadata: { note: 'old' } }), new TextEncoder().encode(encodeLoomBundle([{ id: 'tiny', network: net }]))];
    for (const bytes of old) {
      const model = pickModel(decodeModels(bytes));
      expect(model.preprocessing).toBeNull();
      expect(outputs(model.network)).toEqual(outputs(net));
    }
  });

  it('refuses preprocessing that does not fit the network it is stored with', () => {
    const net = network();
    const wrongShape = encodeLoomModel(net, { metadata: { preprocessing: { ...preprocessing, inputShape: [4], features: [], normalization: { kind: 'none' }, labelColumn: undefined } } });
    expect(() => decodeModels(wrongShape, { what: 'm.loom' })).toThrow(/m\.loom: the preprocessing gives inputs of shape \[4\], the network takes \[3\]/);
    const wrongClasses = encodeLoomModel(net, { metadata: { preprocessing: { ...preprocessing, classes: ['a', 'b', 'c'] } } });
    expect(() => decodeModels(wrongClasses)).toThrow(/names 3 classes, the network outputs 2/);
    const garbled = encodeLoomModel(net, { metadata: { preprocessing: { ...preprocessing, normalization: { kind: 'zscore', mean: [1], std: [1] } } } });
    expect(() => decodeModels(garbled)).toThrow(/normalization\.mean must be a list of 3 numbers/);
  });
});

describe('writeFileReplacing (every export goes through it)', () => {
  it('replaces a symlink planted at the target instead of writing through it', () => {
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'precious');
    const folder = join(dir, 'exports');
    mkdirSync(folder);
    const target = join(folder, 'model.loom');
    symlinkSync(outside, target);
    writeModel(target, network(), 'loom', { preprocessing });
    expect(readFileSync(outside, 'utf8')).toBe('precious');
    expect(lstatSync(target).isSymbolicLink()).toBe(false);
    expect(pickModel(readModelFile(target)).preprocessing).toEqual(preprocessing);
    // No temporary file is left behind.
    expect(readdirSync(folder)).toEqual(['model.loom']);
  });

  it('replaces a dangling symlink too, and says so clearly when a folder is in the way', () => {
    const target = join(dir, 'dangling.loom');
    symlinkSync(join(dir, 'nowhere', 'x'), target);
    writeFileReplacing(target, Uint8Array.of(1, 2, 3));
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    writeFileSync(join(folder, 'keep'), 'x');
    expect(() => writeFileReplacing(folder, Uint8Array.of(1))).toThrow(`cannot write ${folder}: a directory is in the way`);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writing the same bytes twice leaves the same file', () => {
    const target = join(dir, 'twice', 'm.json');
    const first = writeModel(target, network(), 'loom-bundle', { preprocessing });
    const second = writeModel(target, network(), 'loom-bundle', { preprocessing });
    expect(second).toEqual(first);
    expect(new Uint8Array(readFileSync(target))).toEqual(first);
  });
});
