import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeModel } from '../../src/engine/io/files.js';
import { applyPreprocessing, PREPROCESSING_VERSION, type Preprocessing } from '../../src/engine/preprocess.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { layersNet, maxAbsDiff, runOnnx } from './helpers.js';

const preprocessing: Preprocessing = {
  version: PREPROCESSING_VERSION,
  inputShape: [3],
  layout: { kind: 'features' },
  features: ['height', 'weight', 'age'],
  normalization: { kind: 'zscore', mean: [170, 70, 40], std: [10, 15, 12] },
  classes: ['a', 'b'],
};

describe('loom export --format onnx', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'loom-onnx-cli-'));
    vi.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterAll(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('converts a model file, its preprocessing included, and runs on raw rows in onnxruntime', async () => {
    const net = layersNet([3], [{ type: 'dense', units: 5, activation: 'relu' } as LayerSpec, { type: 'dense', units: 2 } as LayerSpec, { type: 'softmax' } as LayerSpec]);
    const source = join(dir, 'model.loom');
    writeModel(source, net, 'loom', { preprocessing });
    const out = join(dir, 'model.bin');
    expect(await main(['export', source, '--out', out, '--format', 'onnx'])).toBe(0);
    const rows = [[180, 80, 30], [150, 50, 60], [170, 70, 40]];
    const onnx = await runOnnx(readFileSync(out), { data: Float32Array.from(rows.flat()), shape: [3, 3] });
    const loom = net.forward({ data: applyPreprocessing(preprocessing, rows), shape: [3, 3] });
    expect(maxAbsDiff(loom.data, onnx.output)).toBeLessThan(1e-4);
    // The ending alone picks the format too.
    expect(await main(['export', source, '--out', join(dir, 'by-name.onnx')])).toBe(0);
    expect(readFileSync(join(dir, 'by-name.onnx'))).toEqual(readFileSync(out));
  });
});
